/**
 * A piece of background work run over and over: `run` again `intervalMs` after
 * each run ends (at once when it answers true: more is waiting), until stopped;
 * a run that fails is reported and the next comes at the usual interval.
 */
export class RepeatingTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(firstDelayMs = this.intervalMs): void {
    this.schedule(firstDelayMs);
  }

  /** Stops scheduling and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().then(
        (more) => this.schedule(more ? 0 : this.intervalMs),
        (err: unknown) => {
          this.onError(err);
          this.schedule(this.intervalMs);
        },
      );
    }, delayMs);
  }
}

/**
 * A provider that runs one RepeatingTask for the application's life: started once
 * the application is up (first run after `firstRunDelayMs`), stopped, with its run
 * in progress finished, before the adapters close.
 */
export abstract class BackgroundTask {
  protected abstract readonly task: RepeatingTask;
  protected readonly firstRunDelayMs: number = 0;

  onApplicationBootstrap(): void {
    this.task.start(this.firstRunDelayMs);
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }
}
