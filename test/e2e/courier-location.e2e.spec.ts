import type { CourierLocationPush, NearbyCouriers } from '@mesh/contracts';
import { eventually, startStack, uniqueName, type RunningStack } from '@mesh/testing';
import { distance, point } from '@turf/turf';
import { io, type Socket } from 'socket.io-client';

/**
 * The foundation slice, as the apps use it: courier app → gateway (Socket.IO)
 * → Kafka → location function → Redis → dispatcher's nearby search.
 */
describe('courier locations end to end (real Kafka and Redis, separate processes)', () => {
  let stack: RunningStack;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await stack?.stop();
  });

  async function connect(token: string): Promise<Socket> {
    const socket = io(stack.baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  async function api<T>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  it('streams couriers’ positions over Socket.IO and shows them to a dispatcher, nearest first with correct distances', async () => {
    const pickup = { lat: 52.52, lng: 13.405 };
    // North of the pickup by 300 m, 1.2 km and 2.5 km; the last one is outside a 2 km search.
    const couriers = [
      { id: uniqueName('near'), northM: 300 },
      { id: uniqueName('mid'), northM: 1_200 },
      { id: uniqueName('far'), northM: 2_500 },
    ];
    const dispatcher = await stack.token(uniqueName('dispatcher'), ['dispatcher']);
    const dispatcherSocket = await connect(dispatcher);
    const pushed: CourierLocationPush[] = [];
    dispatcherSocket.on('courier.location', (p: CourierLocationPush) => pushed.push(p));

    for (const courier of couriers) {
      const token = await stack.token(courier.id, ['courier']);
      expect((await api('PUT', '/v1/couriers/me/availability', token, { available: true })).status).toBe(200);
      const socket = await connect(token);
      // A short walk north, ending at the courier's final spot.
      for (let step = 3; step >= 0; step--) {
        const fix = {
          lat: pickup.lat + (courier.northM + step * 20) / 111_320,
          lng: pickup.lng,
          at: new Date(Date.now() - step * 1000).toISOString(),
        };
        const ack = (await socket.emitWithAck('courier.location', fix)) as { ok: boolean };
        expect(ack).toEqual({ ok: true });
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
        const res = await api<NearbyCouriers>(
          'GET',
          `/v1/couriers/nearby?lat=${pickup.lat}&lng=${pickup.lng}&radiusM=2000`,
          dispatcher,
        );
        expect(res.status).toBe(200);
        expect(res.body.items.map((c) => c.id)).toEqual(expected.map((c) => c.id));
        return res.body.items;
      },
      { timeoutMs: 20_000 },
    );
    found.forEach((courier, i) => {
      expect(courier.status).toBe('available');
      expect(Math.abs(courier.distanceM - expected[i]!.distanceM)).toBeLessThan(expected[i]!.distanceM * 0.005 + 1);
    });

    const me = await api<{ location: { lat: number } }>(
      'GET',
      '/v1/couriers/me',
      await stack.token(couriers[0]!.id, ['courier']),
    );
    expect(me.body.location.lat).toBeCloseTo(pickup.lat + 300 / 111_320, 6);
    await eventually(() =>
      expect(pushed.map((p) => p.courierId)).toEqual(expect.arrayContaining(couriers.map((c) => c.id))),
    );
  });

  it('takes a courier out of nearby search when it goes offline', async () => {
    const id = uniqueName('courier');
    const token = await stack.token(id, ['courier']);
    const dispatcher = await stack.token(uniqueName('dispatcher'), ['dispatcher']);
    const spot = { lat: -33.8688, lng: 151.2093 };
    await api('PUT', '/v1/couriers/me/availability', token, { available: true });
    expect((await api('PUT', '/v1/couriers/me/location', token, spot)).status).toBe(204);
    const search = `/v1/couriers/nearby?lat=${spot.lat}&lng=${spot.lng}&radiusM=100`;
    await eventually(async () =>
      expect((await api<NearbyCouriers>('GET', search, dispatcher)).body.items.map((c) => c.id)).toContain(id),
    );

    const offline = await api<{ status: string }>('PUT', '/v1/couriers/me/availability', token, { available: false });
    expect(offline).toMatchObject({ status: 200, body: { status: 'offline' } });
    await eventually(async () =>
      expect((await api<NearbyCouriers>('GET', search, dispatcher)).body.items.map((c) => c.id)).not.toContain(id),
    );
  });
});
