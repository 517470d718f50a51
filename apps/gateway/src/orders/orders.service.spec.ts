import { newId, type OrderView, type PlaceOrder, type Principal, type Role } from '@mesh/contracts';
import { DispatchStore, announced, makeOffer, type StoredOffer } from '@mesh/dispatch';
import { CourierGeoRepository } from '@mesh/geo';
import { ProblemCode } from '@mesh/problem';
import { startMemoryPlatform, type MemoryPlatform } from '@mesh/harness';
import { OrdersService } from './orders.service';

const as = (sub: string, role: Role): Principal => ({ sub, roles: [role], exp: 4_102_444_800 });
const customer = as('customer-1', 'customer');
const dispatcher = as('dispatcher-1', 'dispatcher');
const courierA = as('courier-a', 'courier');
const courierB = as('courier-b', 'courier');

const lunch: PlaceOrder = {
  pickup: { lat: 52.52, lng: 13.405 },
  dropoff: { lat: 52.5, lng: 13.42 },
  items: [{ sku: 'soup', qty: 1 }],
  note: 'ring twice',
};

describe('OrdersService', () => {
  let platform: MemoryPlatform;
  let orders: OrdersService;
  beforeEach(async () => {
    platform = await startMemoryPlatform([OrdersService]);
    orders = platform.get(OrdersService);
  });
  afterEach(() => platform.close());

  /** The types of the events about `orderId` that reached the bus, in order. */
  async function eventsOf(orderId: string): Promise<string[]> {
    return (await platform.published('orders')).filter((e) => e.subject === orderId).map((e) => e.type);
  }

  /** What dispatch does on finding the courier free near the pickup: the order is offered to it, now. */
  async function offerTo(orderId: string, courier: Principal): Promise<StoredOffer> {
    await platform.courierAt(courier.sub, { lat: 52.521, lng: 13.405 });
    const store = platform.get(DispatchStore);
    const order = (await store.order(orderId))!;
    const slot = await store.courier(courier.sub, order.market);
    const change = makeOffer(order, slot, {
      offerId: newId(),
      attempt: 1,
      distanceM: 111,
      ttlMs: platform.config.dispatch.offerTtlMs,
      now: platform.clock.now(),
    });
    expect(await store.commit(announced(change, 'order.offered', '/test/dispatch'))).not.toBeNull();
    return change.offer.after;
  }

  async function assignedTo(courier: Principal): Promise<OrderView> {
    const placed = await orders.place(customer, lunch);
    const offer = await offerTo(placed.id, courier);
    return orders.answerOffer(courier, offer.offerId, 'accept');
  }

  it('places a pending order stamped with the clock’s time and announces it as order.created', async () => {
    platform.clock.set('2031-03-04T05:06:07.000Z');

    const placed = await orders.place(customer, lunch);

    const at = '2031-03-04T05:06:07.000Z';
    expect(placed).toMatchObject({
      status: 'pending',
      customerId: 'customer-1',
      courierId: null,
      pickup: lunch.pickup,
      dropoff: lunch.dropoff,
      items: lunch.items,
      note: 'ring twice',
      attempts: 0,
      createdAt: at,
      updatedAt: at,
      timeline: [{ status: 'pending', at }],
    });
    expect(await orders.get(customer, placed.id)).toEqual(placed);
    const [created, ...more] = (await platform.published('orders')).filter((e) => e.subject === placed.id);
    expect(more).toEqual([]);
    expect(created).toMatchObject({ type: 'order.created', data: { order: { id: placed.id, createdAt: at } } });
  });

  it('answers a repeated Idempotency-Key and body with the same order, placed once', async () => {
    const first = await orders.place(customer, lunch, 'key-1');
    platform.clock.advance(30_000);
    // The same body, its JSON keys in another order.
    const { note, items, dropoff, pickup } = lunch;
    const again = await orders.place(customer, { note, items, dropoff, pickup }, 'key-1');

    expect(again).toEqual(first);
    expect(await eventsOf(first.id)).toEqual(['order.created']);
    expect((await platform.published('orders')).filter((e) => e.type === 'order.created')).toHaveLength(1);
    expect((await orders.list(customer, { limit: 20 })).items.map((o) => o.id)).toEqual([first.id]);
  });

  it('refuses the same Idempotency-Key with a different body as 422, placing nothing more', async () => {
    const first = await orders.place(customer, lunch, 'key-1');

    await expect(orders.place(customer, { ...lunch, note: 'no onions' }, 'key-1')).rejects.toMatchObject({
      code: ProblemCode.Unprocessable,
      status: 422,
    });
    expect((await platform.published('orders')).filter((e) => e.type === 'order.created')).toHaveLength(1);
    expect((await orders.list(customer, { limit: 20 })).items.map((o) => o.id)).toEqual([first.id]);
  });

  it('assigns the order to a courier who accepts its offer before expiresAt, at the clock’s time', async () => {
    const placed = await orders.place(customer, lunch);
    const offer = await offerTo(placed.id, courierA);
    platform.clock.set(Date.parse(offer.expiresAt) - 1);

    const assigned = await orders.answerOffer(courierA, offer.offerId, 'accept');

    const at = platform.clock.now().toISOString();
    expect(assigned).toMatchObject({ id: placed.id, status: 'assigned', courierId: 'courier-a', updatedAt: at });
    expect(assigned.timeline.at(-1)).toEqual({ status: 'assigned', at });
    expect(assigned.eta).toEqual({ pickupS: expect.any(Number), dropoffS: expect.any(Number) });
    expect((await platform.get(CourierGeoRepository).get('courier-a')).status).toBe('busy');
    expect(await eventsOf(placed.id)).toEqual(['order.created', 'order.offered', 'order.assigned']);
  });

  it('refuses an offer accepted once the clock has reached its expiresAt as 409, leaving the order offered', async () => {
    const placed = await orders.place(customer, lunch);
    const offer = await offerTo(placed.id, courierA);
    platform.clock.set(offer.expiresAt);

    await expect(orders.answerOffer(courierA, offer.offerId, 'accept')).rejects.toMatchObject({
      code: ProblemCode.Conflict,
      status: 409,
    });
    expect((await orders.get(dispatcher, placed.id)).status).toBe('offered');
    expect(await eventsOf(placed.id)).toEqual(['order.created', 'order.offered']);
  });

  it('refuses a customer’s cancel once the order is picked up (409), while a dispatcher may still cancel', async () => {
    const assigned = await assignedTo(courierA);
    platform.clock.advance(60_000);
    const pickedUp = await orders.pickUp(courierA, assigned.id);
    expect(pickedUp.timeline.at(-1)).toEqual({ status: 'picked_up', at: platform.clock.now().toISOString() });

    await expect(orders.cancel(customer, assigned.id)).rejects.toMatchObject({
      code: ProblemCode.Conflict,
      status: 409,
    });
    expect((await orders.get(customer, assigned.id)).status).toBe('picked_up');

    const cancelled = await orders.cancel(dispatcher, assigned.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await platform.get(CourierGeoRepository).get('courier-a')).status).toBe('available');
    expect(await eventsOf(assigned.id)).toEqual([
      'order.created',
      'order.offered',
      'order.assigned',
      'order.picked_up',
      'order.cancelled',
    ]);
  });

  it('tells a courier the order is not found when it picks up another courier’s order', async () => {
    const assigned = await assignedTo(courierA);

    await expect(orders.pickUp(courierB, assigned.id)).rejects.toMatchObject({
      code: ProblemCode.NotFound,
      status: 404,
    });
    expect(await orders.get(courierA, assigned.id)).toMatchObject({ status: 'assigned', courierId: 'courier-a' });
    expect(await eventsOf(assigned.id)).not.toContain('order.picked_up');
  });

  it('forbids the courier an order is only offered to from picking it up (403)', async () => {
    const placed = await orders.place(customer, lunch);
    await offerTo(placed.id, courierA);

    await expect(orders.pickUp(courierA, placed.id)).rejects.toMatchObject({
      code: ProblemCode.Forbidden,
      status: 403,
    });
    expect((await orders.get(courierA, placed.id)).status).toBe('offered');
  });
});
