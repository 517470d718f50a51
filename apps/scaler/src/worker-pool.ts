import { DEADLINES, isWorkerMessage, type WorkerActivation } from '@mesh/contracts';
import type { Logger } from '@mesh/telemetry';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Worker {
  readonly role: string;
  readonly child: ChildProcess;
  /** When it was started for its role: its process start, or a standby's activation. */
  readonly startedAtMs: number;
  /** Taken from the standby workers: loaded and connected before it was needed. */
  readonly warm: boolean;
  /** Start (as above) → first event handled, once it has handled one. */
  coldStartMs: number | null;
  readonly exited: Promise<void>;
}

/** How a worker got to its first event: a process start, or a standby's activation. */
export type StartKind = 'cold' | 'warm';

interface Standby {
  readonly child: ChildProcess;
  ready: boolean;
  /** Set once the standby is taken: its output then belongs to this worker. */
  worker: Worker | null;
  readonly exited: Promise<void>;
}

/** How long a stopping worker may take to drain before it is killed. */
const DRAIN_TIMEOUT_MS = 30_000;
/** A standby that dies is replaced after this, so a broken build does not spin. */
const STANDBY_RESPAWN_MS = 2_000;
/**
 * A standby taken for a scale-out is replaced once every starting worker has
 * handled its first event (a process start would slow theirs), or after this.
 */
const STANDBY_REFILL_MAX_DELAY_MS = 10_000;

/**
 * Worker processes of apps/functions, each running one function on an ephemeral
 * port. Stopping one sends SIGTERM: it stops fetching, finishes in-flight events,
 * commits and leaves its group, so a scale-down drops nothing.
 *
 * With `standbys` > 0 the pool keeps that many workers started ahead of need
 * (OpenWhisk's pre-warmed containers): Node, the app and its Kafka and Redis
 * connections are up, nothing is consumed. A scale-out takes a ready standby and
 * names its function, so a new replica costs a group join rather than a process
 * start, which on a busy machine is the larger part; a fresh standby is started
 * behind it once the scale-out has settled. Without a ready standby it starts a
 * process as before.
 */
export class WorkerPool {
  private readonly workers = new Map<string, Worker[]>();
  private readonly standbys: Standby[] = [];
  private stopping = false;

  constructor(
    private readonly entry: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly onStarted: (role: string, ms: number, kind: StartKind) => void = () => undefined,
    private readonly standbyCount = 0,
  ) {}

  count(role: string): number {
    return this.workers.get(role)?.length ?? 0;
  }

  list(role: string): readonly Worker[] {
    return this.workers.get(role) ?? [];
  }

  /** Standby workers ready to be given a function. */
  readyStandbys(): number {
    return this.standbys.filter((s) => s.ready).length;
  }

  /** Starts the standby workers (call once; the pool keeps their number up after). */
  prepare(): void {
    while (!this.stopping && this.standbys.length < this.standbyCount) this.spawnStandby();
  }

  start(role: string): Worker {
    // A standby has the functions ready, not the deadlines sweeper.
    const standby = role === DEADLINES ? undefined : this.standbys.find((s) => s.ready);
    const worker = standby ? this.activate(standby, role) : this.spawnWorker(role);
    this.workers.set(role, [...this.list(role), worker]);
    this.logger.info({ role, pid: worker.child.pid, warm: worker.warm }, 'worker started');
    void worker.exited.then(() => this.forget(worker));
    if (standby) setTimeout(() => this.prepare(), STANDBY_REFILL_MAX_DELAY_MS).unref();
    return worker;
  }

  /** Drains and stops the newest worker of a role. */
  async stopOne(role: string): Promise<void> {
    const worker = this.list(role).at(-1);
    if (!worker) return;
    this.forget(worker);
    await stopGracefully(worker);
    this.logger.info({ role, pid: worker.child.pid }, 'worker stopped');
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    const all = [...this.workers.values()].flat();
    this.workers.clear();
    const standbys = this.standbys.splice(0);
    await Promise.all([...all, ...standbys].map(stopGracefully));
  }

  private spawnWorker(role: string): Worker {
    const child = this.spawn({ FUNCTIONS: role });
    const worker: Worker = {
      role,
      child,
      startedAtMs: Date.now(),
      warm: false,
      coldStartMs: null,
      exited: exitOf(child),
    };
    this.watchOutput(child, () => worker);
    return worker;
  }

  private spawnStandby(): void {
    const child = this.spawn({ FUNCTIONS_STANDBY: '1' }, true);
    const standby: Standby = { child, ready: false, worker: null, exited: exitOf(child) };
    this.standbys.push(standby);
    child.on('message', (message) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'standing-by') standby.ready = true;
      if (message.type === 'activation-failed') standby.child.kill('SIGTERM');
    });
    this.watchOutput(child, () => standby.worker);
    void standby.exited.then(() => {
      const index = this.standbys.indexOf(standby);
      if (index < 0) return; // taken, or stopped with the pool
      this.standbys.splice(index, 1);
      this.logger.warn({ pid: child.pid, code: child.exitCode }, 'a standby worker exited; starting another');
      setTimeout(() => this.prepare(), STANDBY_RESPAWN_MS).unref();
    });
    this.logger.info({ pid: child.pid }, 'standby worker started');
  }

  private activate(standby: Standby, role: string): Worker {
    this.standbys.splice(this.standbys.indexOf(standby), 1);
    const worker: Worker = {
      role,
      child: standby.child,
      startedAtMs: Date.now(),
      warm: true,
      coldStartMs: null,
      exited: standby.exited,
    };
    standby.worker = worker;
    standby.child.send({ type: 'activate', functions: [role] } satisfies WorkerActivation);
    return worker;
  }

  private spawn(extraEnv: NodeJS.ProcessEnv, ipc = false): ChildProcess {
    return spawn(process.execPath, [this.entry], {
      env: { ...this.env, ...extraEnv, FUNCTIONS_PORT: '0', LOG_LEVEL: this.env.LOG_LEVEL ?? 'info' },
      stdio: ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
    });
  }

  /** Reads the worker's log: its first event (the start time), and errors passed on to this log. */
  private watchOutput(child: ChildProcess, owner: () => Worker | null): void {
    if (!child.stdout) return;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const worker = owner();
      if (worker && worker.coldStartMs === null && line.includes('"first event handled"')) {
        const field = worker.warm ? 'sinceActivationMs' : 'uptimeMs';
        const measured = new RegExp(`"${field}":(\\d+)`).exec(line)?.[1];
        worker.coldStartMs = measured ? Number(measured) : Date.now() - worker.startedAtMs;
        const kind: StartKind = worker.warm ? 'warm' : 'cold';
        this.logger.info(
          { role: worker.role, pid: child.pid, ms: worker.coldStartMs, kind },
          'worker handled its first event',
        );
        this.onStarted(worker.role, worker.coldStartMs, kind);
        if (this.allStarted()) this.prepare();
      }
      if (line.includes('"level":50') || line.includes('"level":60')) process.stderr.write(`${line}\n`);
    });
  }

  private allStarted(): boolean {
    return [...this.workers.values()].flat().every((w) => w.coldStartMs !== null || w.role === DEADLINES);
  }

  private forget(worker: Worker): void {
    this.workers.set(
      worker.role,
      this.list(worker.role).filter((w) => w !== worker),
    );
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopGracefully(worker: { child: ChildProcess; exited: Promise<void> }): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), DRAIN_TIMEOUT_MS);
  await worker.exited;
  clearTimeout(timer);
}
