import { MemoryEventBus, type CloudEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { MemoryScheduleStore } from '@mesh/schedules';
import { createLogger } from '@mesh/telemetry';
import { eventually } from '@mesh/harness';
import { Scheduler } from './scheduler';

describe('Scheduler', () => {
  const schedules = [
    { name: 'catching-up', function: 'housekeeping', intervalS: 2, missed: 'catch-up', payload: { task: 'a' } },
    { name: 'skipping', function: 'housekeeping', intervalS: 2, missed: 'skip', payload: { task: 'b' } },
  ];
  const config = AppConfig.fromEnv({ JWT_SECRET: 'x'.repeat(32), SCHEDULES: JSON.stringify(schedules) });
  const timing = { intervalMs: 250, leaseMs: 5_000, maxCatchUp: 100 };
  let bus: MemoryEventBus;
  let fired: CloudEvent[];
  let replicas: Scheduler[];

  beforeEach(async () => {
    bus = new MemoryEventBus();
    fired = [];
    await bus.subscribe({ group: 'test', topic: 'schedules', handle: (e) => Promise.resolve(void fired.push(e)) });
    const store = new MemoryScheduleStore();
    const logger = createLogger('test', 'silent');
    replicas = [1, 2, 3].map(() => new Scheduler(store, bus, config, logger, timing));
  });
  afterEach(() => bus.close());

  const ticksOf = (name: string) =>
    fired
      .filter((e) => (e.data as { schedule: string }).schedule === name)
      .map((e) => (e.data as { tickAt: string }).tickAt);
  const lookAll = (nowMs: number) => Promise.all(replicas.map((r) => r.fireDue(nowMs)));

  it('fires each tick once however many replicas look at the same moment', async () => {
    const start = Date.parse('2026-12-05T10:00:00Z');
    for (let t = 0; t <= 10_000; t += 250) await lookAll(start + t);
    const expected = ['00', '02', '04', '06', '08', '10'].map((s) => `2026-12-05T10:00:${s}.000Z`);
    await eventually(() => expect(fired).toHaveLength(12));
    expect(ticksOf('catching-up')).toEqual(expected);
    expect(ticksOf('skipping')).toEqual(expected);
    expect(fired.find((e) => (e.data as { schedule: string }).schedule === 'catching-up')).toMatchObject({
      id: `schedule:catching-up:${start}`,
      type: 'schedule.fired',
      data: { payload: { task: 'a' } },
    });
  });

  it('after a quiet spell fires the missed ticks in order for a catching-up schedule, the latest only for a skipping one', async () => {
    const start = Date.parse('2026-12-05T10:00:00Z');
    await lookAll(start);
    // Nothing ran for 9 s.
    await lookAll(start + 9_000);
    await eventually(() => expect(fired).toHaveLength(7));
    expect(ticksOf('catching-up')).toEqual(['00', '02', '04', '06', '08'].map((s) => `2026-12-05T10:00:${s}.000Z`));
    expect(ticksOf('skipping')).toEqual(['00', '08'].map((s) => `2026-12-05T10:00:${s}.000Z`));
  });
});
