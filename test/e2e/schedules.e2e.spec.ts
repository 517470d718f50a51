import { KafkaEventBus, type CloudEvent, type Subscription } from '@mesh/bus';
import { ForbiddenError, MeshClient } from '@mesh/client';
import type { Role } from '@mesh/contracts';
import {
  eventually,
  freePort,
  silentLogger,
  startProcess,
  startStack,
  uniqueName,
  waitForHttp,
  type RunningProcess,
  type RunningStack,
} from '@mesh/harness';

const EVERY_S = 2;
const SCHEDULE = {
  name: 'every-2s',
  function: 'housekeeping',
  intervalS: EVERY_S,
  missed: 'catch-up',
  payload: { task: 'trim-invocation-records' },
};

/**
 * Schedules on the real stack: three functions replicas fire a 2 s schedule once
 * per tick while one of them is killed, and the ticks missed while no replica ran
 * are fired when one is back.
 */
describe('schedules (real Kafka and Redis, three functions replicas)', () => {
  let stack: RunningStack;
  let bus: KafkaEventBus;
  let subscription: Subscription;
  const extra: RunningProcess[] = [];
  const fired: { tickMs: number; id: string; firedAtMs: number }[] = [];

  beforeAll(async () => {
    stack = await startStack({ SCHEDULES: JSON.stringify([SCHEDULE]) });
    for (let i = 2; i <= 3; i++) extra.push(await startReplica(`functions-${i}`));
    bus = new KafkaEventBus({
      brokers: String(stack.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: 'schedules-test',
      topicPrefix: String(stack.env.KAFKA_TOPIC_PREFIX),
      logger: silentLogger,
    });
    subscription = await bus.subscribe({
      group: uniqueName('schedule-watch'),
      topic: 'schedules',
      handle: (event: CloudEvent) => {
        const data = event.data as { tickAt: string };
        fired.push({ tickMs: Date.parse(data.tickAt), id: event.id, firedAtMs: Date.parse(event.time ?? '') });
        return Promise.resolve();
      },
    });
  });
  afterAll(async () => {
    await subscription?.close();
    await bus?.close();
    await Promise.all(extra.map((p) => p.stop('SIGKILL')));
    await stack?.stop();
  });

  async function startReplica(name: string): Promise<RunningProcess> {
    const port = await freePort();
    const replica = startProcess(name, 'apps/functions/src/main.js', { ...stack.env, FUNCTIONS_PORT: String(port) });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, replica);
    return replica;
  }

  const ticksBetween = (fromMs: number, toMs: number) => {
    const ticks: number[] = [];
    for (let t = Math.ceil(fromMs / (EVERY_S * 1000)) * EVERY_S * 1000; t <= toMs; t += EVERY_S * 1000) ticks.push(t);
    return ticks;
  };
  const distinctTicks = () => [...new Set(fired.map((f) => f.tickMs))].sort((a, b) => a - b);

  /** A new user's typed client; no retries, so each answer is seen as it came. */
  async function client(prefix: string, roles: Role[]): Promise<MeshClient> {
    const token = await stack.token(uniqueName(prefix), roles);
    return new MeshClient({ baseUrl: stack.baseUrl, token, retry: { attempts: 0 } });
  }

  async function housekeepingRuns(): Promise<Map<string, number>> {
    const dispatcher = await client('dispatcher', ['dispatcher']);
    const { items } = await dispatcher.admin.activations({ function: 'housekeeping', limit: 500 });
    const runs = new Map<string, number>();
    for (const r of items) if (r.outcome === 'ok') runs.set(r.eventId, (runs.get(r.eventId) ?? 0) + 1);
    return runs;
  }

  it('fires every tick once over 30 s while one of three replicas is killed midway, and each runs its function once', async () => {
    await eventually(() => expect(fired.length).toBeGreaterThan(0), { timeoutMs: 20_000 });
    const from = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const victim = extra[0] as RunningProcess;
    process.kill(victim.child.pid as number, 'SIGKILL');
    await victim.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 18_000));
    const to = Date.now() - 1_000;

    const expected = ticksBetween(from, to);
    expect(expected.length).toBeGreaterThanOrEqual(14);
    await eventually(() => expect(distinctTicks()).toEqual(expect.arrayContaining(expected)), { timeoutMs: 10_000 });
    const inWindow = distinctTicks().filter((t) => t >= expected[0]! && t <= expected[expected.length - 1]!);
    expect(inWindow).toEqual(expected);
    // Each tick is on Kafka once, under one id. A replica killed between publishing a tick and
    // marking it fired leaves it to be fired again (same id): that may happen to the one tick of the kill.
    for (const tick of expected) {
      expect(new Set(fired.filter((f) => f.tickMs === tick).map((f) => f.id)).size).toBe(1);
    }
    const firedTwice = expected.filter((tick) => fired.filter((f) => f.tickMs === tick).length > 1);
    expect(firedTwice.length).toBeLessThanOrEqual(1);
    await eventually(
      async () => {
        const runs = await housekeepingRuns();
        for (const tick of expected) expect(runs.get(`schedule:every-2s:${tick}`)).toBe(1);
      },
      { timeoutMs: 15_000 },
    );
  });

  it('fires the ticks missed while no replica ran once one is back, and shows the schedule with its last outcome', async () => {
    await Promise.all(extra.map((p) => p.stop('SIGKILL')));
    const downFrom = Date.now();
    await stack.restartFunctions('SIGKILL', async () => {
      await new Promise((resolve) => setTimeout(resolve, 7_000));
    });
    expect(stack.functions.child.exitCode).toBeNull();
    const missed = ticksBetween(downFrom + EVERY_S * 1000, downFrom + 6_000);
    expect(missed.length).toBeGreaterThanOrEqual(2);
    await eventually(() => expect(distinctTicks()).toEqual(expect.arrayContaining(missed)), { timeoutMs: 20_000 });
    // Fired late, after the restart: caught up, not fired on time by something still running.
    for (const tick of missed) {
      const first = fired.find((f) => f.tickMs === tick);
      expect(first!.firedAtMs - tick).toBeGreaterThan(1_000);
    }

    const dispatcher = await client('dispatcher', ['dispatcher']);
    await eventually(
      async () => {
        const [item] = (await dispatcher.admin.schedules()).items;
        expect(item).toMatchObject({ name: 'every-2s', cron: null, intervalS: 2, timeZone: 'UTC' });
        expect(item!.lastFire?.outcome).toBe('ok');
        expect(Date.parse(item!.nextFireAt)).toBeGreaterThan(Date.parse(item!.lastFire!.at) - EVERY_S * 1000);
      },
      { timeoutMs: 15_000 },
    );
    const customer = await client('customer', ['customer']);
    await expect(customer.admin.schedules()).rejects.toBeInstanceOf(ForbiddenError);
  });
});
