import type { Logger } from '@mesh/telemetry';
import type { Consumer } from 'kafkajs';

/**
 * Commits a consumer's positions on a timer rather than after every batch.
 *
 * kafkajs' autoCommit sends an OffsetCommit after each partition's batch, which
 * under load is one broker round trip per partition per fetch: more requests
 * than the fetches themselves, and each holds up the next fetch. Here a handled
 * batch only records how far its partition got; the positions go to Kafka
 * together every `intervalMs`, when a rebalance begins, and on close. After a
 * crash up to one interval of events comes again, which the functions'
 * idempotency absorbs.
 */
export class OffsetCommitter {
  /** partition → offset of the next event to handle there (what Kafka stores as the position). */
  private readonly done = new Map<number, string>();
  private committing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly consumer: Consumer,
    private readonly topic: string,
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.commit(), intervalMs);
    this.timer.unref();
    // Hand over what is done before the partitions move; the group's new generation would refuse it after.
    consumer.on(consumer.events.REBALANCING, () => void this.commit());
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.keepOnly(payload.memberAssignment[topic] ?? []));
  }

  /** Every event of `partition` up to and including `lastOffset` is handled. */
  handled(partition: number, lastOffset: string): void {
    this.done.set(partition, (BigInt(lastOffset) + 1n).toString());
  }

  /** Sends the positions recorded since the last commit; one commit at a time. */
  commit(): Promise<void> {
    this.committing = this.committing.then(() => this.send());
    return this.committing;
  }

  /** Stops the timer and commits what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.commit();
  }

  private async send(): Promise<void> {
    if (this.done.size === 0) return;
    const positions = [...this.done];
    this.done.clear();
    try {
      await this.consumer.commitOffsets(
        positions.map(([partition, offset]) => ({ topic: this.topic, partition, offset })),
      );
    } catch (err) {
      // Not lost: kept for the next commit unless a newer position came meanwhile.
      for (const [partition, offset] of positions) if (!this.done.has(partition)) this.done.set(partition, offset);
      this.log.warn({ err }, 'could not commit positions yet; will try again');
    }
  }

  /** After a rebalance, positions of partitions this member no longer owns are the new owner's to commit. */
  private keepOnly(partitions: readonly number[]): void {
    const owned = new Set(partitions);
    for (const partition of this.done.keys()) if (!owned.has(partition)) this.done.delete(partition);
  }
}
