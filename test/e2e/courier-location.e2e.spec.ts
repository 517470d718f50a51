import { MeshClient, type MeshLive } from '@mesh/client';
import type { CourierLocationPush } from '@mesh/contracts';
import { eventually, startStack, uniqueName, type RunningStack } from '@mesh/harness';
import { distance, point } from '@turf/turf';

/**
 * The foundation slice, as the apps use it: courier app → gateway (Socket.IO)
 * → Kafka → location function → Redis → dispatcher's nearby search.
 */
describe('courier locations end to end (real Kafka and Redis, separate processes)', () => {
  let stack: RunningStack;
  const lives: MeshLive[] = [];

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    for (const live of lives) live.close();
    await stack?.stop();
  });

  /** An app signed in as `sub`; no retries, so each answer is seen as it came. */
  async function app(sub: string, role: 'courier' | 'dispatcher'): Promise<MeshClient> {
    return new MeshClient({ baseUrl: stack.baseUrl, token: await stack.token(sub, [role]), retry: { attempts: 0 } });
  }

  async function connect(client: MeshClient): Promise<MeshLive> {
    const live = client.live({ transports: ['websocket'], reconnection: false });
    lives.push(live);
    return live.connect();
  }

  it('streams couriers’ positions over Socket.IO and shows them to a dispatcher, nearest first with correct distances', async () => {
    const pickup = { lat: 52.52, lng: 13.405 };
    // North of the pickup by 300 m, 1.2 km and 2.5 km; the last one is outside a 2 km search.
    const couriers = [
      { id: uniqueName('near'), northM: 300 },
      { id: uniqueName('mid'), northM: 1_200 },
      { id: uniqueName('far'), northM: 2_500 },
    ];
    const dispatcher = await app(uniqueName('dispatcher'), 'dispatcher');
    const dispatcherLive = await connect(dispatcher);
    const pushed: CourierLocationPush[] = [];
    dispatcherLive.on('courier.location', (p) => pushed.push(p));

    const apps: MeshClient[] = [];
    for (const courier of couriers) {
      const courierApp = await app(courier.id, 'courier');
      apps.push(courierApp);
      await courierApp.couriers.setAvailability(true);
      const live = await connect(courierApp);
      // A short walk north, ending at the courier's final spot.
      for (let step = 3; step >= 0; step--) {
        await live.reportLocation({
          lat: pickup.lat + (courier.northM + step * 20) / 111_320,
          lng: pickup.lng,
          at: new Date(Date.now() - step * 1000).toISOString(),
        });
      }
    }

    const expected = couriers.slice(0, 2).map((c) => ({
      id: c.id,
      distanceM: distance(point([pickup.lng, pickup.lat]), point([pickup.lng, pickup.lat + c.northM / 111_320]), {
        units: 'meters',
      }),
    }));
    const found = await eventually(
      async () => {
        const { items } = await dispatcher.couriers.nearby({ ...pickup, radiusM: 2_000 });
        expect(items.map((c) => c.id)).toEqual(expected.map((c) => c.id));
        return items;
      },
      { timeoutMs: 20_000 },
    );
    found.forEach((courier, i) => {
      expect(courier.status).toBe('available');
      expect(Math.abs(courier.distanceM - expected[i]!.distanceM)).toBeLessThan(expected[i]!.distanceM * 0.005 + 1);
    });

    const me = await apps[0]!.couriers.me();
    expect(me.location?.lat).toBeCloseTo(pickup.lat + 300 / 111_320, 6);
    await eventually(() =>
      expect(pushed.map((p) => p.courierId)).toEqual(expect.arrayContaining(couriers.map((c) => c.id))),
    );
  });

  it('takes a courier out of nearby search when it goes offline', async () => {
    const id = uniqueName('courier');
    const courier = await app(id, 'courier');
    const dispatcher = await app(uniqueName('dispatcher'), 'dispatcher');
    const spot = { lat: -33.8688, lng: 151.2093 };
    await courier.couriers.setAvailability(true);
    await courier.couriers.reportLocation(spot);
    const nearbyIds = async () => (await dispatcher.couriers.nearby({ ...spot, radiusM: 100 })).items.map((c) => c.id);
    await eventually(async () => expect(await nearbyIds()).toContain(id));

    expect(await courier.couriers.setAvailability(false)).toMatchObject({ status: 'offline' });
    await eventually(async () => expect(await nearbyIds()).not.toContain(id));
  });
});
