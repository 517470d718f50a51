import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { DependencyUnavailable, EventBus, reached } from '@mesh/bus';
import { functionGroup, type TopicKey } from '@mesh/contracts';

/** The route log's writer: the archive function's group, and the topic it archives. */
const ARCHIVE_GROUP = functionGroup('archive');
const ORDERS: TopicKey = 'orders';
/** How often a round looks at the archive's positions (it commits them every second). */
const LOOK_EVERY_MS = 200;
/** Rounds start at most this often: the archive's positions move once a second, so sooner would only cost. */
const ROUND_EVERY_MS = 500;
/** How long one round looks before it ends unreached (its waiters start another, or give up). */
const ROUND_MS = 5_000;

/**
 * How far the archive has got through the order log, in time: `through(t)`
 * resolves once every order event that was on the bus at `t` is archived. The
 * trails judge an idle courier's position only then, so that an order the
 * courier was on at that position's time (assigned, and maybe already
 * delivered, before the position was judged) is known to the archive, as it is
 * in a replay: which positions a trail keeps does not depend on how far the
 * archive had got.
 *
 * One round at a time, at most two a second, reads the log's ends and then the
 * archive's committed positions until they reach them. Callers that come while a
 * round runs share the next one, so a busy trail costs a few admin requests a
 * second, not a few per event.
 */
@Injectable()
export class ArchiveWatermark implements BeforeApplicationShutdown {
  /** Every order event on the bus at this time (epoch ms) is archived. */
  private archivedThrough = 0;
  /** The round after the one running, which callers join until it starts. */
  private next: Promise<void> | null = null;
  private rounds: Promise<void> = Promise.resolve();
  /** When the last round started (performance.now()). */
  private lastRoundAt = -Infinity;
  /** Resolved when the process begins to shut down: waiting callers give up at once. */
  private readonly stopping: Promise<void>;
  private stop: () => void = () => undefined;
  private stopped = false;

  constructor(private readonly bus: EventBus) {
    this.stopping = new Promise((resolve) => (this.stop = resolve));
  }

  /** The archive is draining too: a position waiting for it goes back to the bus for whoever runs next. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    this.stop();
  }

  /**
   * Resolves once the archive has every order event that was on the bus at
   * `atMs`; throws DependencyUnavailable if that takes over `timeoutMs` (the
   * archive is down or far behind), so that the caller's event waits and comes again.
   */
  async through(atMs: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.archivedThrough < atMs) {
      const left = deadline - performance.now();
      if (left <= 0) throw new DependencyUnavailable('the archive has not caught up with the order log yet');
      if (this.stopped) throw new DependencyUnavailable('shutting down before the archive caught up');
      let timer: NodeJS.Timeout | undefined;
      try {
        // The round goes on for the callers still waiting on it; this one stops at its own deadline.
        await Promise.race([
          this.nextRound(),
          this.stopping,
          new Promise((resolve) => (timer = setTimeout(resolve, left))),
        ]);
      } catch (err) {
        throw new DependencyUnavailable(err);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private nextRound(): Promise<void> {
    if (!this.next) {
      const round = this.rounds.then(async () => {
        await sleep(this.lastRoundAt + ROUND_EVERY_MS - performance.now());
        // Started from here on: a caller that comes now waits for the round after this one.
        this.next = null;
        return this.round();
      });
      this.rounds = round.catch(() => undefined);
      this.next = round;
    }
    return this.next;
  }

  private async round(): Promise<void> {
    this.lastRoundAt = performance.now();
    const startedAt = Date.now();
    const ends = await this.bus.endPositions(ORDERS);
    for (const stopAt = performance.now() + ROUND_MS; ;) {
      if (reached(await this.bus.committedPositions(ARCHIVE_GROUP, ORDERS), ends)) {
        this.archivedThrough = Math.max(this.archivedThrough, startedAt);
        return;
      }
      if (performance.now() > stopAt) return;
      await sleep(LOOK_EVERY_MS);
    }
  }
}

/** Unref'd: a round left looking never holds the process open. */
function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms).unref()) : Promise.resolve();
}
