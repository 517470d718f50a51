import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventBus, newEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { TOPIC_OF_EVENT, type ScheduleSpec } from '@mesh/contracts';
import { ScheduleStore, dueTicks, tickEventId } from '@mesh/schedules';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { BackgroundTask, RepeatingTask } from '../host/repeating-task';

const SOURCE = '/functions/scheduler';

export interface SchedulerTiming {
  /** How often due ticks are looked for: a tick fires at most this late. */
  intervalMs: number;
  /** How long a claimed tick is held; a replica that dies before firing it frees it after this. */
  leaseMs: number;
  /** Missed ticks a catching-up schedule fires per look, oldest first. */
  maxCatchUp: number;
}

export const SCHEDULER_TIMING = Symbol('SCHEDULER_TIMING');
const DEFAULT_TIMING: SchedulerTiming = { intervalMs: 250, leaseMs: 5_000, maxCatchUp: 100 };

/**
 * Fires the schedules (SCHEDULES, or the catalog's) as `schedule.fired` events
 * for their functions. Runs in every always-on timers process; however many run,
 * each tick fires once: a replica claims a tick in the schedule store before it
 * publishes it and marks it fired after. One that dies in between leaves the
 * claim to lapse and another fires the tick (with the same event id, which the
 * function host handles once).
 */
@Injectable()
export class Scheduler extends BackgroundTask {
  private readonly timing: SchedulerTiming;
  protected readonly task: RepeatingTask;

  constructor(
    private readonly store: ScheduleStore,
    private readonly bus: EventBus,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(SCHEDULER_TIMING) timing?: SchedulerTiming,
  ) {
    super();
    this.timing = timing ?? DEFAULT_TIMING;
    this.task = new RepeatingTask(
      async () => (await this.fireDue()) > 0,
      this.timing.intervalMs,
      (err) => this.logger.warn({ err }, 'schedules not fired yet; retrying'),
    );
  }

  /** A deployment without schedules runs no scheduler loop. */
  override onApplicationBootstrap(): void {
    if (this.config.schedules.length > 0) super.onApplicationBootstrap();
  }

  /** Fires what is due of every schedule; answers how many ticks this replica fired. */
  async fireDue(now = Date.now()): Promise<number> {
    const specs = this.config.schedules;
    const states = await this.store.states(specs.map((s) => s.name));
    const fired = await Promise.all(
      specs.map(async (spec, i) => {
        let count = 0;
        for (const tick of dueTicks(spec, states[i]?.lastTickMs ?? null, now, this.timing.maxCatchUp)) {
          // Ticks of one schedule go in order: a tick another replica holds stops this look.
          if (!(await this.fire(spec, tick))) break;
          count += 1;
        }
        return count;
      }),
    );
    return fired.reduce((a, b) => a + b, 0);
  }

  private async fire(spec: ScheduleSpec, tickMs: number): Promise<boolean> {
    const claim = await this.store.claim(spec.name, tickMs, this.timing.leaseMs);
    if (claim !== 'run') return false;
    const event = newEvent(
      'schedule.fired',
      { schedule: spec.name, tickAt: new Date(tickMs).toISOString(), payload: spec.payload },
      { source: SOURCE, key: spec.name, subject: spec.name, id: tickEventId(spec.name, tickMs) },
    );
    await this.bus.publish(TOPIC_OF_EVENT[event.type], event);
    await this.store.fired(spec.name, tickMs, Date.now());
    this.logger.info({ schedule: spec.name, tickAt: event.data.tickAt }, 'schedule fired');
    return true;
  }
}
