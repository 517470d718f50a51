import { DEFAULT_MARKET } from '@mesh/config';
import { courierKeys } from '@mesh/geo';
import { newEvent } from '@mesh/bus';
import { eventually, startScaler, type RunningScaler } from '@mesh/harness';
import Redis from 'ioredis';

const COURIERS = 1_000;
const FIXES_EACH = 20;

/**
 * The local scaler on the real Kafka: an idle function at zero replicas, a burst,
 * scale-out to several worker processes (the first from the standby worker the
 * scaler keeps ready), drain, cooldown, back to zero — and every event's effect
 * exactly as if handled once, in order.
 */
describe('lag-based scaling of functions (real Kafka and Redis)', () => {
  let scaler: RunningScaler;
  let redis: Redis;

  beforeAll(async () => {
    scaler = await startScaler({
      pollingIntervalS: 0.5,
      functions: {
        location: { minReplicas: 0, maxReplicas: 4, lagThreshold: 2_000, activationLagThreshold: 0, cooldownS: 3 },
      },
    });
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      keyPrefix: String(scaler.env.REDIS_KEY_PREFIX),
    });
    // In service the scaler has had its standby ready long before a burst; so here too.
    await eventually(async () => expect((await scaler.status()).standbysReady).toBe(1), { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await scaler?.stop();
  });

  it('takes an idle function from 0 to several replicas for a burst, and back to 0 after the cooldown', async () => {
    expect(await scaler.replicas('location')).toBe(0);
    const start = Date.now();
    const last = new Map<string, number>();
    const events = [];
    for (let step = 0; step < FIXES_EACH; step++) {
      for (let c = 0; c < COURIERS; c++) {
        const courierId = `scale-courier-${c}`;
        const lat = 10 + c * 0.0001 + step * 0.00001;
        last.set(courierId, lat);
        events.push(
          newEvent(
            'courier.location.reported',
            { courierId, lat, lng: 20, at: new Date(start + step * 1000).toISOString() },
            { source: '/test', key: courierId },
          ),
        );
      }
    }
    await Promise.all(events.map((e) => scaler.bus.publish('couriers', e)));

    let most = 0;
    await eventually(
      async () => {
        most = Math.max(most, await scaler.replicas('location'));
        expect(most).toBeGreaterThanOrEqual(2);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await eventually(async () => expect(await scaler.replicas('location')).toBe(0), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    // Exactly once in effect: every courier's stored fix is its last one, whichever replica handled what.
    const pipeline = redis.pipeline();
    for (const id of last.keys()) pipeline.hget(courierKeys.courier(DEFAULT_MARKET, id), 'lat');
    const stored = (await pipeline.exec())!.map(([, value]) => Number(value));
    expect(stored).toEqual([...last.values()]);
    const status = await scaler.status();
    const location = status.history.filter((h) => h.function === 'location');
    expect(location[0]).toMatchObject({ from: 0 });
    expect(location.at(-1)).toMatchObject({ to: 0 });
    expect(status.functions.find((f) => f.function === 'deadlines')?.replicas).toBe(1);
  });

  it('starts new replicas from a standby worker, and has a fresh standby ready again afterwards', async () => {
    const status = await scaler.status();
    const starts = status.coldStarts.filter((s) => s.function === 'location');
    // The first replica of the burst came from the standby the scaler kept ready (a group join, no process start).
    expect(starts[0]).toMatchObject({ kind: 'warm' });
    expect(starts[0]!.ms).toBeLessThan(starts.find((s) => s.kind === 'cold')?.ms ?? Infinity);
    await eventually(async () => expect((await scaler.status()).standbysReady).toBe(1), { timeoutMs: 20_000 });
  });
});
