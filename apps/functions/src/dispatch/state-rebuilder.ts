import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventBus, type LogPositions } from '@mesh/bus';
import { functionGroup, rooms } from '@mesh/contracts';
import { DispatchStore, OrderFold } from '@mesh/dispatch';
import { Markets } from '@mesh/geo';
import { ClientPush } from '@mesh/realtime';
import { StreamFold, StreamStore } from '@mesh/streams';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { BackgroundTask, RepeatingTask } from '../host/repeating-task';

export const STATE_CHECK_INTERVAL_MS = Symbol('STATE_CHECK_INTERVAL_MS');
/**
 * How often each market is looked at: a market whose server is new refuses changes until it is
 * replayed, so this is part of how long a failover stops dispatch (two Redis reads per market).
 */
const DEFAULT_INTERVAL_MS = 250;
/** The checkpoint moves up at most this often: it costs a request to Kafka. */
const CHECKPOINT_EVERY_MS = 1_000;
/** The group whose committed positions the state is known to include: dispatch writes what it handled before it commits. */
const DISPATCH_GROUP = functionGroup('dispatch');

/**
 * Keeps Redis' dispatch state whole against the order log on Kafka (DESIGN.md,
 * "Kafka is the record"). Four times a second it looks at each market's state (on a
 * Redis Cluster, markets live on different shards and are lost and found apart):
 *
 * - no state at all (its shard came back empty): the whole `orders` log is folded
 *   to each order's latest event and the market's orders restored, then the market
 *   is marked built and every courier is asked to re-announce (`courier.resync`).
 *   Until then no change commits in that market (the store refuses), so nothing is
 *   decided on state that is missing.
 * - its server restarted or a replica took over (a new incarnation; it may have come
 *   back with less than it had: the last second of an `everysec` append-only file,
 *   or writes the replica had not received): the log from the market's last
 *   checkpoint on is replayed; only versions newer than the store's are written, so
 *   nothing happens when nothing was lost. The market's marker names the server it was
 *   last verified on, and until the replay has marked it again no change commits there:
 *   a change decided on the replica's older state could take the version number of one
 *   the old master had, and the replay would then write nothing over it.
 * - otherwise the checkpoint moves up to what dispatch has committed (at most once a second).
 *
 * Markets that need the log share one replay. The live rooms are restored the same
 * way when the server holding them is new (their requests carry the whole spec).
 */
@Injectable()
export class StateRebuilder extends BackgroundTask {
  private readonly incarnations = new Map<string, string>();
  private streamsIncarnation: string | null = null;
  private checkpointedAt = -Infinity;
  protected readonly task: RepeatingTask;

  constructor(
    private readonly store: DispatchStore,
    private readonly streams: StreamStore,
    private readonly markets: Markets,
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

  /** One look at every market, and what each calls for. */
  async check(): Promise<Record<string, 'rebuilt' | 'replayed' | 'checkpointed'>> {
    const lookedFrom = performance.now();
    const looks = await Promise.all(
      this.markets.names.map(async (market) => ({
        market,
        incarnation: await this.store.incarnation(market),
        built: await this.store.built(market),
      })),
    );
    const outcome: Record<string, 'rebuilt' | 'replayed' | 'checkpointed'> = {};
    const empty = looks.filter((look) => look.built === null);
    // Also on this process' first look: it cannot know what the server went through before.
    const renewed = looks.filter(
      (look) => look.built !== null && look.incarnation !== this.incarnations.get(look.market),
    );
    if (empty.length > 0 || renewed.length > 0) {
      const from = empty.length > 0 ? 'earliest' : earliest(renewed.map((look) => look.built as LogPositions));
      const restored = await this.rebuild(from, empty, renewed, performance.now() - lookedFrom);
      for (const look of empty) outcome[look.market] = 'rebuilt';
      for (const look of renewed) outcome[look.market] = 'replayed';
      if (empty.length === 0 && restored > 0) {
        this.logger.warn(
          { restored, markets: renewed.map((l) => l.market) },
          'the store had lost changes; restored them from the log',
        );
      }
    }
    const settled = looks.filter((look) => !(look.market in outcome));
    if (settled.length > 0 && performance.now() - this.checkpointedAt >= CHECKPOINT_EVERY_MS) {
      this.checkpointedAt = performance.now();
      const committed = await this.bus.committedPositions(DISPATCH_GROUP, 'orders');
      for (const look of settled) {
        await this.store.markBuilt(look.market, furthest(look.built as LogPositions, committed), look.incarnation);
        outcome[look.market] = 'checkpointed';
      }
    }
    for (const look of looks) this.incarnations.set(look.market, look.incarnation);
    await this.checkStreams();
    return outcome;
  }

  /**
   * Restores the orders of these markets that the log from `from` holds newer than
   * the store, and marks the markets built; answers how many were written.
   */
  private async rebuild(
    from: LogPositions | 'earliest',
    empty: readonly Look[],
    renewed: readonly Look[],
    lookMs: number,
  ): Promise<number> {
    const started = performance.now();
    const fold = new OrderFold();
    const reached = await this.bus.replay('orders', from, (event) => fold.add(event));
    const replayed = performance.now();
    const wanted = new Set([...empty, ...renewed].map((look) => look.market));
    const orders = fold
      .restored(Date.now(), (order) => this.markets.of(order.pickup) ?? this.markets.home)
      .filter((restored) => wanted.has(restored.order.market));
    const restored = await this.store.restore(orders);
    for (const look of empty) await this.store.markBuilt(look.market, reached, look.incarnation);
    for (const look of renewed)
      await this.store.markBuilt(look.market, furthest(look.built as LogPositions, reached), look.incarnation);
    const seconds = (performance.now() - started) / 1000;
    if (empty.length > 0 || restored > 0) {
      // Availability and positions are the couriers' own; only their apps can tell them again. (On a
      // first start nobody is online yet and nothing is lost: then the log is empty and it costs nothing.)
      await this.push.emit(rooms.couriers, 'courier.resync', {});
      this.metrics.stateRebuilds.inc({ kind: empty.length > 0 ? 'full' : 'tail' });
      const figures = {
        markets: [...wanted],
        orders: orders.length,
        restored,
        seconds: Math.round(seconds * 1000) / 1000,
        // Where a failover's pause went: the look that found the new server, the log, the writes.
        ms: {
          look: Math.round(lookMs),
          replay: Math.round(replayed - started),
          restore: Math.round(performance.now() - replayed),
        },
        full: empty.length > 0,
      };
      if (fold.size === 0) this.logger.info(figures, 'dispatch state initialised (the order log is empty)');
      else this.logger.warn(figures, 'dispatch state rebuilt from the order log; couriers asked to re-announce');
    }
    return restored;
  }

  /** The live rooms, from the `streams` log, whenever the server holding them is one this process has not seen. */
  private async checkStreams(): Promise<void> {
    const incarnation = await this.streams.incarnation();
    if (incarnation === this.streamsIncarnation) return;
    const fold = new StreamFold();
    await this.bus.replay('streams', 'earliest', (event) => fold.add(event));
    const restored = await this.streams.restore(fold.specs());
    if (restored > 0) this.logger.warn({ rooms: restored }, 'live rooms restored from the stream log');
    this.streamsIncarnation = incarnation;
  }
}

interface Look {
  market: string;
  incarnation: string;
  built: LogPositions | null;
}

/** Per partition, the earlier of several positions (a partition one of them lacks is read from its start). */
function earliest(all: readonly LogPositions[]): LogPositions {
  const partitions = new Set(all.flatMap((positions) => Object.keys(positions)));
  const out: LogPositions = {};
  for (const partition of partitions) {
    const offsets = all.map((positions) => positions[partition]);
    if (offsets.some((offset) => offset === undefined)) continue;
    out[partition] = String(Math.min(...offsets.map(Number)));
  }
  return out;
}

/** Per partition, the further of two positions. */
function furthest(a: LogPositions, b: LogPositions): LogPositions {
  const out: LogPositions = { ...a };
  for (const [partition, offset] of Object.entries(b)) {
    if (Number(offset) > Number(out[partition] ?? -1)) out[partition] = offset;
  }
  return out;
}
