import type { CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';

/** An event committed with the change it announces, waiting to be put on Kafka. */
export interface OutboxEntry {
  /** Its place in the outbox; entries are read in commit order. */
  readonly id: string;
  readonly topic: TopicKey;
  readonly event: CloudEvent;
}

/**
 * The outbox: the stores append an event to it in the same atomic step as the
 * change the event announces (DESIGN.md, "A change and its event never part"),
 * and the relay reads it in commit order, puts it on Kafka and removes it.
 *
 * It is sharded: one outbox per hash tag whose state commits events (each market,
 * the live rooms; see `outboxShards`), so on a Redis Cluster a commit and its
 * entry stay in one slot. Per shard, one relay reads at a time (the lease), so one
 * entity's events leave in order.
 */
export abstract class Outbox {
  /** The shards this outbox has; the relay relays each. */
  abstract readonly shards: readonly string[];
  /**
   * Appends one entry on its own. A store commits its entries inside the change's
   * own atomic step instead (see `outboxFields`); this is for the relay's tests.
   */
  abstract append(shard: string, topic: TopicKey, event: CloudEvent): Promise<void>;
  /**
   * The shard's oldest entries after `afterId` ('' = from the start), at most `limit`;
   * when there are none, waits up to `waitMs` for one to be committed.
   */
  abstract read(shard: string, afterId: string, limit: number, waitMs: number): Promise<OutboxEntry[]>;
  /**
   * Forgets entries Kafka has, and tells every process waiting in `drained` (the
   * relay removes in commit order, so the newest id removed is how far Kafka has them).
   */
  abstract remove(shard: string, ids: readonly string[]): Promise<void>;
  /**
   * True once every entry committed to the shard before this call is on Kafka
   * (removed by the relay), false if that does not happen within `timeoutMs` (the
   * entries wait in the outbox). Rejects with OutboxLost when the shard's outbox
   * went with Redis' data since the caller's commit, and with Redis' own error when
   * it cannot be asked. A process that answers a change only after this knows the
   * change survives losing Redis' data.
   */
  abstract drained(shard: string, timeoutMs: number): Promise<boolean>;
  /** Takes the shard's relay lease for `holder`, or renews it if `holder` has it; false while another holds it. */
  abstract lease(shard: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the shard's lease up if `holder` has it, so another relay takes over at once. */
  abstract release(shard: string, holder: string): Promise<void>;
  /** Entries not yet on Kafka, over all shards (what the relay is behind by). */
  abstract backlog(): Promise<number>;
  /** Stops any read that is waiting. */
  abstract close(): Promise<void>;
}

/** The outbox is gone (Redis came back without its data): what it held was never relayed. */
export class OutboxLost extends Error {
  constructor() {
    super('the outbox went with Redis’ data');
    this.name = 'OutboxLost';
  }
}

/** The Redis key of a shard's outbox stream (the stores' commit scripts append to it). */
export function outboxKey(shard: string): string {
  return `${shard}:outbox`;
}
export const outboxLeaseKey = (shard: string) => `${outboxKey(shard)}:relay`;
/** The pub/sub channel (after the connection's key prefix) on which removals announce how far Kafka has a shard. */
export const outboxRelayedChannel = (shard: string) => `${outboxKey(shard)}:relayed`;

/** Whether stream entry id `a` ("ms-seq") comes at or after `b`. */
export function streamIdAtLeast(a: string, b: string): boolean {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs > bMs || (aMs === bMs && aSeq >= bSeq);
}

/** The stream fields of an entry, as a commit script writes them: `topic`, then `event` as JSON. */
export function outboxFields(topic: TopicKey, event: CloudEvent): [string, string, string, string] {
  return ['topic', topic, 'event', JSON.stringify(event)];
}
