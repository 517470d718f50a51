import { Inject, Injectable, Optional } from '@nestjs/common';
import { DispatchStore, OrderEventPublisher } from '@mesh/dispatch';
import { Markets } from '@mesh/geo';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { BackgroundTask, RepeatingTask } from '../host/repeating-task';

const SOURCE = '/functions/deadlines';

export interface SweepTiming {
  /** How often due deadlines are looked for; an offer lapses at most this late. */
  intervalMs: number;
  /** How long a taken deadline is held; if its event is not published by then, another sweep takes it again. */
  leaseMs: number;
  batch: number;
}

export const SWEEP_TIMING = Symbol('SWEEP_TIMING');
const DEFAULT_TIMING: SweepTiming = { intervalMs: 100, leaseMs: 5_000, batch: 200 };

/**
 * Turns order deadlines kept in the dispatch store (offer expiries, stalled
 * dispatches) into `order.deadline_reached` events for the dispatch function.
 * The deadlines live in Redis, so they outlast any process: a restarted or
 * another functions process picks them up, and a lease keeps two from racing.
 */
@Injectable()
export class DeadlineSweeper extends BackgroundTask {
  private readonly timing: SweepTiming;
  protected readonly task: RepeatingTask;
  protected override readonly firstRunDelayMs: number;

  constructor(
    private readonly store: DispatchStore,
    private readonly markets: Markets,
    private readonly events: OrderEventPublisher,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(SWEEP_TIMING) timing?: SweepTiming,
  ) {
    super();
    this.timing = timing ?? DEFAULT_TIMING;
    this.firstRunDelayMs = this.timing.intervalMs;
    this.task = new RepeatingTask(
      // A full batch means more may be due: go again at once.
      async () => (await this.sweep()) === this.timing.batch,
      this.timing.intervalMs,
      (err) => this.logger.warn({ err }, 'deadline sweep failed; retrying'),
    );
  }

  /** Publishes one event per due deadline, in every market; answers the most one market had due. */
  async sweep(now = Date.now()): Promise<number> {
    const due = await Promise.all(
      this.markets.names.map(async (market) => {
        const ids = await this.store.leaseDueDeadlines(market, now, this.timing.batch, this.timing.leaseMs);
        await Promise.all(ids.map((orderId) => this.events.publishDeadline(orderId, SOURCE)));
        return ids.length;
      }),
    );
    return Math.max(0, ...due);
  }
}
