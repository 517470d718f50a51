import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventBus, type LogPositions } from '@mesh/bus';
import { functionGroup, rooms } from '@mesh/contracts';
import { DispatchStore, OrderFold } from '@mesh/dispatch';
import { ClientPush } from '@mesh/realtime';
import { StreamFold, StreamStore } from '@mesh/streams';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { BackgroundTask, RepeatingTask } from '../host/repeating-task';

export const STATE_CHECK_INTERVAL_MS = Symbol('STATE_CHECK_INTERVAL_MS');
const DEFAULT_INTERVAL_MS = 1_000;
/** The group whose committed positions the state is known to include: dispatch writes what it handled before it commits. */
const DISPATCH_GROUP = functionGroup('dispatch');

/**
 * Keeps Redis' dispatch state whole against the order log on Kafka (DESIGN.md,
 * "Kafka is the record"). Once a second it looks at the store:
 *
 * - no state at all (Redis came back empty): the whole `orders` log is folded
 *   to each order's latest event and restored (and the `streams` log to each live
 *   room's latest spec), then the state is marked built
 *   and every courier is asked to re-announce (`courier.resync`). Until then no
 *   change commits anywhere (the store refuses), so nothing is decided on state
 *   that is missing.
 * - the server restarted (a new incarnation; it may have come back with less
 *   than it had, e.g. the last second of an `everysec` append-only file): the
 *   log from the last checkpoint on is replayed; only versions newer than the
 *   store's are written, so nothing happens when nothing was lost.
 * - otherwise the checkpoint moves up to what dispatch has committed.
 */
@Injectable()
export class StateRebuilder extends BackgroundTask {
  private incarnation: string | null = null;
  protected readonly task: RepeatingTask;

  constructor(
    private readonly store: DispatchStore,
    private readonly streams: StreamStore,
    private readonly bus: EventBus,
    private readonly push: ClientPush,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(STATE_CHECK_INTERVAL_MS) intervalMs?: number,
  ) {
    super();
    this.task = new RepeatingTask(
      async () => {
        await this.check();
        return false;
      },
      intervalMs ?? DEFAULT_INTERVAL_MS,
      (err) => this.logger.warn({ err }, 'could not check the dispatch state; retrying'),
    );
  }

  /** One look at the store, and what it calls for. */
  async check(): Promise<'rebuilt' | 'replayed' | 'checkpointed'> {
    const incarnation = await this.store.incarnation();
    const built = await this.store.built();
    if (!built) {
      await this.rebuild('earliest');
      this.incarnation = incarnation;
      return 'rebuilt';
    }
    if (incarnation !== this.incarnation) {
      // Also on this process' first look: it cannot know what the server went through before.
      const restored = await this.rebuild(built);
      this.incarnation = incarnation;
      if (restored > 0) this.logger.warn({ restored }, 'the store had lost changes; restored them from the log');
      return 'replayed';
    }
    const committed = await this.bus.committedPositions(DISPATCH_GROUP, 'orders');
    await this.store.markBuilt(furthest(built, committed));
    return 'checkpointed';
  }

  /** Restores every order the log from `from` holds newer than the store; answers how many. */
  private async rebuild(from: LogPositions | 'earliest'): Promise<number> {
    const started = performance.now();
    const fold = new OrderFold();
    const reached = await this.bus.replay('orders', from, (event) => fold.add(event));
    const restored = await this.store.restore(fold.restored(Date.now()));
    // Live rooms come back with the orders (their requests carry the whole spec); rooms change seldom, so a
    // tail replay leaves them be.
    const liveRooms = from === 'earliest' ? await this.restoreStreams() : 0;
    await this.store.markBuilt(from === 'earliest' ? reached : furthest(from, reached));
    const seconds = (performance.now() - started) / 1000;
    if (from === 'earliest' || restored > 0) {
      // Availability and positions are the couriers' own; only their apps can tell them again. (On a
      // first start nobody is online yet and nothing is lost: then the log is empty and it costs nothing.)
      await this.push.emit(rooms.couriers, 'courier.resync', {});
      this.metrics.stateRebuilds.inc({ kind: from === 'earliest' ? 'full' : 'tail' });
      const figures = {
        orders: fold.size,
        restored,
        rooms: liveRooms,
        seconds: Math.round(seconds * 1000) / 1000,
        full: from === 'earliest',
      };
      if (fold.size === 0) this.logger.info(figures, 'dispatch state initialised (the order log is empty)');
      else this.logger.warn(figures, 'dispatch state rebuilt from the order log; couriers asked to re-announce');
    }
    return restored;
  }

  private async restoreStreams(): Promise<number> {
    const fold = new StreamFold();
    await this.bus.replay('streams', 'earliest', (event) => fold.add(event));
    return this.streams.restore(fold.specs());
  }
}

/** Per partition, the further of two positions. */
function furthest(a: LogPositions, b: LogPositions): LogPositions {
  const out: LogPositions = { ...a };
  for (const [partition, offset] of Object.entries(b)) {
    if (Number(offset) > Number(out[partition] ?? -1)) out[partition] = offset;
  }
  return out;
}
