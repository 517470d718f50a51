import { ScheduleStore, type ScheduleState, type TickClaim } from './schedule-store.port';

/** The schedule store of the embedded default and small tests. */
export class MemoryScheduleStore extends ScheduleStore {
  private readonly last = new Map<string, ScheduleState>();
  private readonly leases = new Map<string, { tickMs: number; untilMs: number }>();

  claim(schedule: string, tickMs: number, leaseMs: number): Promise<TickClaim> {
    if ((this.last.get(schedule)?.lastTickMs ?? -Infinity) >= tickMs) return Promise.resolve('done');
    const lease = this.leases.get(schedule);
    const now = Date.now();
    if (lease && lease.untilMs > now) return Promise.resolve('busy');
    this.leases.set(schedule, { tickMs, untilMs: now + leaseMs });
    return Promise.resolve('run');
  }

  fired(schedule: string, tickMs: number, atMs: number): Promise<void> {
    if ((this.last.get(schedule)?.lastTickMs ?? -Infinity) < tickMs) {
      this.last.set(schedule, { lastTickMs: tickMs, firedAtMs: atMs });
    }
    if (this.leases.get(schedule)?.tickMs === tickMs) this.leases.delete(schedule);
    return Promise.resolve();
  }

  states(schedules: readonly string[]): Promise<(ScheduleState | null)[]> {
    return Promise.resolve(schedules.map((name) => this.last.get(name) ?? null));
  }
}
