import { ConflictError, MeshClient } from '@mesh/client';
import type { OrderView } from '@mesh/contracts';
import { SocketInbox, startStack, type RunningStack } from '@mesh/harness';
import { distance, point } from '@turf/turf';
import { DispatchWorld, offset, somewhere } from './support/dispatch-world';

/**
 * An order's life as the apps live it: customer, merchant, couriers and a
 * dispatcher on their own sockets, against gateway and functions as separate
 * processes on the real Kafka and Redis.
 */
describe('dispatch end to end (real Kafka and Redis, separate processes)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;

  beforeAll(async () => {
    // Short offers so the expiry scenarios take seconds; a service area that leaves out the polar regions.
    stack = await startStack({
      OFFER_TTL_S: '2',
      // Searches that find nobody wait 0.5 s, then 1, 2, 4 s: an order is unassigned only after 7.5 s.
      DISPATCH_RETRY_S: '0.5',
      SERVICE_AREA: JSON.stringify({
        type: 'Polygon',
        coordinates: [
          [
            [-175, -70],
            [175, -70],
            [175, 70],
            [-175, 70],
            [-175, -70],
          ],
        ],
      }),
    });
  });
  afterAll(() => stack?.stop());
  beforeEach(() => {
    world = new DispatchWorld(stack);
  });
  afterEach(() => world.close());

  it('takes an order from placement to delivery, telling everyone concerned on the way', async () => {
    const pickup = somewhere();
    const dropoff = offset(pickup, 1_500, 500);
    const [customer, merchant, dispatcher] = await Promise.all([
      world.actor('customer', ['customer']),
      world.actor('merchant', ['merchant']),
      world.actor('dispatcher', ['dispatcher']),
    ]);
    const near = await world.courierAt(offset(pickup, 300));
    const far = await world.courierAt(offset(pickup, 1_800));

    // Raw: the 202 and its Location header are part of the contract, and the typed `place` shows neither.
    const res = await customer.api<OrderView>('POST', '/v1/orders', {
      pickup,
      dropoff,
      merchantId: merchant.id,
      items: [{ sku: 'ramen', qty: 2 }],
      note: 'ring twice',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/orders/${res.body.id}`);
    expect(res.body).toMatchObject({
      status: 'pending',
      customerId: customer.id,
      merchantId: merchant.id,
      courierId: null,
      items: [{ sku: 'ramen', qty: 2 }],
      note: 'ring twice',
      attempts: 0,
      eta: null,
    });
    const orderId = res.body.id;
    await merchant.inbox.next('order.updated', (o) => o.id === orderId);
    await customer.live.watchOrder(orderId);

    const offer = await near.inbox.next('offer.created', (o) => o.orderId === orderId);
    const expectedM = distance(point([pickup.lng, pickup.lat]), point([pickup.lng, offset(pickup, 300).lat]), {
      units: 'meters',
    });
    expect(offer).toMatchObject({ orderId, pickup, dropoff });
    expect(Math.abs(offer.distanceM - expectedM)).toBeLessThan(2);
    expect(Date.parse(offer.expiresAt) - Date.now()).toBeLessThanOrEqual(2_000);
    expect(far.inbox.all('offer.created')).toEqual([]);
    expect(await near.client.couriers.me()).toMatchObject({ status: 'offered' });

    const accepted = await near.live.acceptOffer(offer.offerId);
    expect(accepted).toMatchObject({ id: orderId, status: 'assigned', courierId: near.id });
    expect(accepted.eta!.pickupS).toBeGreaterThan(0);
    expect(accepted.eta!.dropoffS).toBeGreaterThan(accepted.eta!.pickupS);
    for (const who of [customer, merchant, dispatcher, near]) {
      await who.inbox.next('order.updated', (o) => o.id === orderId && o.status === 'assigned');
    }
    expect(await near.client.couriers.me()).toMatchObject({ status: 'busy', activeOrderId: orderId });

    // The customer watches the courier come.
    const onTheWay = offset(pickup, 150);
    await near.live.reportLocation(onTheWay);
    const seen = await customer.inbox.next('courier.location', (p) => p.courierId === near.id);
    expect(seen).toMatchObject({ orderId, lat: onTheWay.lat, lng: onTheWay.lng });

    expect(await near.client.orders.pickUp(orderId)).toMatchObject({ status: 'picked_up' });
    const delivered = await near.client.orders.deliver(orderId);
    expect(delivered.status).toBe('delivered');
    expect(delivered.timeline.map((t) => t.status)).toEqual([
      'pending',
      'dispatching',
      'offered',
      'assigned',
      'picked_up',
      'delivered',
    ]);
    for (const who of [customer, merchant, dispatcher]) {
      await who.inbox.next('order.updated', (o) => o.id === orderId && o.status === 'delivered');
    }
    expect(await near.client.couriers.me()).toMatchObject({ status: 'available', activeOrderId: null });
    const statusesSeen = customer.inbox
      .all('order.updated')
      .filter((o) => o.id === orderId)
      .map((o) => o.status);
    expect(statusesSeen).toEqual(expect.arrayContaining(['pending', 'offered', 'assigned', 'picked_up', 'delivered']));
  });

  it('sends a courier the offer it holds when its app reconnects, so the offer is not missed', async () => {
    const pickup = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const courier = await world.courierAt(offset(pickup, 150));
    courier.live.close();
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 800) });
    await world.orderReaches(customer, order.id, 'offered');

    const back = new MeshClient({ baseUrl: stack.baseUrl, token: courier.token, retry: { attempts: 0 } }).live({
      transports: ['websocket'],
      reconnection: false,
    });
    // Listening before connecting: the held offer is pushed as soon as the connection is up.
    const inbox = new SocketInbox(back);
    try {
      await back.connect();
      const offer = await inbox.next('offer.created', (o) => o.orderId === order.id, 1_500);
      expect(await courier.client.offers.accept(offer.offerId)).toMatchObject({
        status: 'assigned',
        courierId: courier.id,
      });
    } finally {
      back.close();
    }
  });

  it('offers the order to the next nearest courier when the first declines', async () => {
    const pickup = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const first = await world.courierAt(offset(pickup, 200));
    const second = await world.courierAt(offset(pickup, 900));
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, -1_000) });

    const firstOffer = await first.inbox.next('offer.created', (o) => o.orderId === order.id);
    await first.client.offers.decline(firstOffer.offerId);

    const secondOffer = await second.inbox.next('offer.created', (o) => o.orderId === order.id);
    expect(secondOffer.offerId).not.toBe(firstOffer.offerId);
    expect(await first.client.couriers.me()).toMatchObject({ status: 'available' });
    // Answering again is a conflict, and changes nothing.
    await expect(first.client.offers.accept(firstOffer.offerId)).rejects.toBeInstanceOf(ConflictError);
    expect(await second.client.offers.accept(secondOffer.offerId)).toMatchObject({
      status: 'assigned',
      courierId: second.id,
      attempts: 2,
    });
    expect(first.inbox.all('offer.created').filter((o) => o.orderId === order.id)).toHaveLength(1);
  });

  it('moves on when an offer goes unanswered past its deadline', async () => {
    const pickup = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const silent = await world.courierAt(offset(pickup, 100));
    const next = await world.courierAt(offset(pickup, 600));
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 2_000) });

    const lapsed = await silent.inbox.next('offer.created', (o) => o.orderId === order.id);
    const revoked = await silent.inbox.next('offer.revoked', (r) => r.offerId === lapsed.offerId);
    expect(revoked).toEqual({ offerId: lapsed.offerId, orderId: order.id, reason: 'expired' });
    await next.inbox.next('offer.created', (o) => o.orderId === order.id);

    // Raw: the problem+json media type is checked too, which a typed error does not carry.
    const late = await silent.api('POST', `/v1/offers/${lapsed.offerId}/accept`);
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toContain('application/problem+json');
    expect(await silent.client.couriers.me()).toMatchObject({ status: 'available' });
  });

  it('keeps an order placed while no courier is free waiting, and offers it to the first who comes online', async () => {
    const pickup = somewhere();
    const [customer, dispatcher] = await Promise.all([
      world.actor('customer', ['customer']),
      world.actor('dispatcher', ['dispatcher']),
    ]);
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 500) });
    // The first search found nobody: the order waits, spending attempts over time, not in one instant.
    const waiting = await world.orderReaches(dispatcher, order.id, 'dispatching');
    expect(waiting.timeline.map((t) => t.status)).toEqual(['pending', 'dispatching']);

    const late = await world.courierAt(offset(pickup, 300));
    const offer = await late.inbox.next('offer.created', (o) => o.orderId === order.id);
    expect(await late.client.offers.accept(offer.offerId)).toMatchObject({ status: 'assigned' });
    const assigned = await world.orderReaches(dispatcher, order.id, 'assigned');
    expect(assigned.timeline.map((t) => t.status)).toEqual(['pending', 'dispatching', 'offered', 'assigned']);
  });

  it('gives an order nobody can reach up to the dispatchers, who send it out again once someone can', async () => {
    const pickup = somewhere();
    const [customer, dispatcher] = await Promise.all([
      world.actor('customer', ['customer']),
      world.actor('dispatcher', ['dispatcher']),
    ]);
    // 20 km away: beyond the largest search radius.
    await world.courierAt(offset(pickup, 20_000));
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 500) });

    const unassigned = await dispatcher.inbox.next(
      'order.updated',
      (o) => o.id === order.id && o.status === 'unassigned',
    );
    expect(unassigned.attempts).toBeGreaterThanOrEqual(1);
    expect(unassigned.courierId).toBeNull();

    const courier = await world.courierAt(offset(pickup, 400));
    expect(await dispatcher.client.orders.redispatch(order.id)).toMatchObject({ status: 'dispatching', attempts: 0 });
    const offer = await courier.inbox.next('offer.created', (o) => o.orderId === order.id);
    expect(offer.distanceM).toBeGreaterThan(390);
    expect(offer.distanceM).toBeLessThan(410);
    // A second redispatch of an order that is no longer unassigned is a conflict.
    await expect(dispatcher.client.orders.redispatch(order.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('revokes the live offer and frees the courier when the customer cancels', async () => {
    const pickup = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const courier = await world.courierAt(offset(pickup, 250));
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 800) });
    const offer = await courier.inbox.next('offer.created', (o) => o.orderId === order.id);

    expect(await customer.client.orders.cancel(order.id)).toMatchObject({ status: 'cancelled', courierId: null });

    const revoked = await courier.inbox.next('offer.revoked', (r) => r.offerId === offer.offerId);
    expect(revoked.reason).toBe('cancelled');
    await expect(courier.client.offers.accept(offer.offerId)).rejects.toBeInstanceOf(ConflictError);
    expect(await courier.client.couriers.me()).toMatchObject({ status: 'available', activeOrderId: null });
    await expect(customer.client.orders.cancel(order.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses an order outside the service area with 422, naming the end that is outside, and places nothing', async () => {
    const customer = await world.actor('customer', ['customer']);
    // Raw: the problem+json media type is checked too, which a typed error does not carry.
    const res = await customer.api<{ status: number; errors: { path: string }[] }>('POST', '/v1/orders', {
      pickup: somewhere(),
      dropoff: { lat: 78.22, lng: 15.65 },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors).toEqual([{ path: 'body.dropoff', message: 'outside the service area' }]);
    expect((await customer.client.orders.list()).items).toEqual([]);
  });

  it('answers a retried placement with the same Idempotency-Key with the same order, never a second one', async () => {
    const pickup = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const key = { idempotencyKey: `retry-${Date.now()}` };
    const body = { pickup, dropoff: offset(pickup, 700) };

    const [a, b] = await Promise.all(
      [world.place(customer, body, key), world.place(customer, body, key)].map((p) => p.catch((e: unknown) => e)),
    );
    const again = await world.place(customer, body, key);

    const ids = [a, b, again]
      .filter((r): r is OrderView => typeof r === 'object' && r !== null && 'id' in r)
      .map((o) => o.id);
    expect(new Set(ids).size).toBe(1);
    const mine = await customer.client.orders.list();
    expect(mine.items.map((o) => o.id)).toEqual([again.id]);
  });
});
