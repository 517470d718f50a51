import type { EventBus } from '@mesh/bus';
import type { LiveLoad } from '@mesh/streams';
import type { Logger, Metrics } from '@mesh/telemetry';
import { DEADLINES, FUNCTION_CATALOG, TOPICS, functionGroup, type ScalingPolicy } from '@mesh/contracts';
import { IDLE, decideReplicas, policyAt, type ScalingState } from './scaling-decision';
import type { StartKind, WorkerPool } from './worker-pool';

export interface ScaleEvent {
  at: string;
  function: string;
  from: number;
  to: number;
  lag: number;
}

export interface FunctionStatus {
  function: string;
  replicas: number;
  lag: number;
  workers: { pid: number | undefined; startedAt: string; warm: boolean; coldStartMs: number | null }[];
}

/** A worker's first event: `ms` after its process start (cold) or after a standby was given the function (warm). */
export interface StartRecord {
  function: string;
  ms: number;
  kind: StartKind;
}

/**
 * Grows and shrinks each function's worker processes from its consumer lag, by
 * the same policy KEDA applies in Kubernetes (`scaling-policy.json`), down to zero
 * when a topic is idle; a function scaled on live rooms (the mix) also from the rooms
 * asked to be on air and their co-hosts. Keeps one deadlines sweeper running at all times.
 */
export class LocalScaler {
  private readonly state = new Map<string, ScalingState>();
  private readonly lags = new Map<string, number>();
  private readonly history: ScaleEvent[] = [];
  private readonly coldStarts: StartRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly bus: EventBus,
    private readonly pool: WorkerPool,
    private readonly policy: ScalingPolicy,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** The live rooms' load now (the stream store's). */
    private readonly liveLoad: () => Promise<LiveLoad> = () => Promise.resolve({ rooms: 0, inputs: 0 }),
  ) {}

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((err: unknown) => this.logger.warn({ err }, 'scaling tick failed; retrying'))
        .finally(() => {
          this.timer = setTimeout(loop, this.policy.pollingIntervalS * 1000);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.pool.stopAll();
  }

  async tick(now = Date.now()): Promise<void> {
    if (this.pool.count(DEADLINES) === 0) this.pool.start(DEADLINES);
    // Read once a tick, and only when a function scales on it. Unknown (the store unreachable): a function
    // scaled on rooms keeps its replicas rather than take a room off air for want of a count.
    const rooms = Object.values(this.policy.functions).some((p) => p.liveRooms)
      ? await this.liveLoad().catch((err: unknown) => {
          this.logger.warn({ err }, 'live rooms not counted; the mix keeps its replicas this tick');
          return undefined;
        })
      : null;
    if (rooms) {
      this.metrics.liveRooms.set(rooms.rooms);
      this.metrics.liveRoomInputs.set(rooms.inputs);
    }
    await Promise.all(
      FUNCTION_CATALOG.map(async ({ name, topic }) => {
        const policy = this.policy.functions[name];
        if (!policy) return;
        if (policy.liveRooms && rooms === undefined) return;
        const lag = await this.bus.consumerLag(functionGroup(name), topic);
        this.lags.set(name, lag);
        // A worker that died is gone: the decision starts from the workers really running.
        const current = { ...(this.state.get(name) ?? IDLE), replicas: this.pool.count(name) };
        const next = decideReplicas(current, lag, now, policyAt(policy, now), TOPICS[topic].partitions, rooms ?? null);
        this.state.set(name, next);
        this.metrics.functionLag.set({ function: name }, lag);
        this.metrics.functionReplicas.set({ function: name }, next.replicas);
        if (next.replicas === current.replicas) return;
        this.history.push({
          at: new Date(now).toISOString(),
          function: name,
          from: current.replicas,
          to: next.replicas,
          lag,
        });
        if (this.history.length > 500) this.history.shift();
        this.logger.info({ function: name, from: current.replicas, to: next.replicas, lag }, 'scaling');
        for (let n = current.replicas; n < next.replicas; n++) this.pool.start(name);
        for (let n = current.replicas; n > next.replicas; n--) void this.pool.stopOne(name);
      }),
    );
  }

  /** A worker handled its first event `ms` after its start (see StartRecord). */
  coldStarted(fn: string, ms: number, kind: StartKind): void {
    this.coldStarts.push({ function: fn, ms, kind });
    if (this.coldStarts.length > 500) this.coldStarts.shift();
    this.metrics.functionColdStart.observe({ function: fn, kind }, ms / 1000);
  }

  status(): {
    functions: FunctionStatus[];
    history: readonly ScaleEvent[];
    coldStarts: readonly StartRecord[];
    standbysReady: number;
  } {
    return {
      standbysReady: this.pool.readyStandbys(),
      functions: [...FUNCTION_CATALOG.map((f) => f.name), DEADLINES].map((name) => ({
        function: name,
        replicas: this.pool.count(name),
        lag: this.lags.get(name) ?? 0,
        workers: this.pool.list(name).map((w) => ({
          pid: w.child.pid,
          startedAt: new Date(w.startedAtMs).toISOString(),
          warm: w.warm,
          coldStartMs: w.coldStartMs,
        })),
      })),
      history: this.history,
      coldStarts: this.coldStarts,
    };
  }
}
