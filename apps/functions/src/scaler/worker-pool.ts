import type { Logger } from '@mesh/telemetry';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Worker {
  readonly role: string;
  readonly child: ChildProcess;
  readonly startedAtMs: number;
  /** Process start → first event handled, once it has handled one. */
  coldStartMs: number | null;
  readonly exited: Promise<void>;
}

/** How long a stopping worker may take to drain before it is killed. */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * Worker processes of apps/functions, each running one function (FUNCTIONS=<name>)
 * on an ephemeral port. Stopping one sends SIGTERM: it stops fetching, finishes
 * in-flight events, commits and leaves its group, so a scale-down drops nothing.
 */
export class WorkerPool {
  private readonly workers = new Map<string, Worker[]>();

  constructor(
    private readonly entry: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly onColdStart: (role: string, coldStartMs: number) => void = () => undefined,
  ) {}

  count(role: string): number {
    return this.workers.get(role)?.length ?? 0;
  }

  list(role: string): readonly Worker[] {
    return this.workers.get(role) ?? [];
  }

  start(role: string): Worker {
    const child = spawn(process.execPath, [this.entry], {
      env: { ...this.env, FUNCTIONS: role, FUNCTIONS_PORT: '0', LOG_LEVEL: this.env.LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const worker: Worker = { role, child, startedAtMs: Date.now(), coldStartMs: null, exited };
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (worker.coldStartMs === null && line.includes('"first event handled"')) {
          const uptime = /"uptimeMs":(\d+)/.exec(line)?.[1];
          worker.coldStartMs = uptime ? Number(uptime) : Date.now() - worker.startedAtMs;
          this.logger.info({ role, pid: child.pid, coldStartMs: worker.coldStartMs }, 'worker handled its first event');
          this.onColdStart(role, worker.coldStartMs);
        }
        if (line.includes('"level":50') || line.includes('"level":60')) process.stderr.write(`${line}\n`);
      });
    }
    void exited.then(() => this.forget(worker));
    this.workers.set(role, [...this.list(role), worker]);
    this.logger.info({ role, pid: child.pid }, 'worker started');
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
    const all = [...this.workers.values()].flat();
    this.workers.clear();
    await Promise.all(all.map(stopGracefully));
  }

  private forget(worker: Worker): void {
    this.workers.set(
      worker.role,
      this.list(worker.role).filter((w) => w !== worker),
    );
  }
}

async function stopGracefully(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), DRAIN_TIMEOUT_MS);
  await worker.exited;
  clearTimeout(timer);
}
