/** Where a schedule stands: the last tick fired and when it was fired. */
export interface ScheduleState {
  lastTickMs: number;
  firedAtMs: number;
}

export type TickClaim = 'run' | 'done' | 'busy';

/**
 * What every replica of the scheduler shares, so each tick fires once however
 * many run: a replica claims a tick before it fires it and marks it fired after.
 */
export abstract class ScheduleStore {
  /**
   * `run`: this caller fires the tick (its claim lasts `leaseMs`; should it die, the tick
   * is free again after that); `done`: the tick (or a later one) was fired; `busy`: another holds it.
   */
  abstract claim(schedule: string, tickMs: number, leaseMs: number): Promise<TickClaim>;
  /** The tick is on Kafka: it becomes the schedule's last (never moving back to an older one). */
  abstract fired(schedule: string, tickMs: number, atMs: number): Promise<void>;
  /** The state of each named schedule; null for one never fired. */
  abstract states(schedules: readonly string[]): Promise<(ScheduleState | null)[]>;
}
