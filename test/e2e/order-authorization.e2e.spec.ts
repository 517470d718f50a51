import { BadRequestError, ForbiddenError, NotFoundError } from '@mesh/client';
import type { OfferRef, OrderView, ProblemDetails } from '@mesh/contracts';
import { startStack, type RunningStack } from '@mesh/harness';
import { documentedRoutes } from './support/actors';
import { DispatchWorld, offset, somewhere, type Actor } from './support/dispatch-world';

type Who =
  'customer' | 'otherCustomer' | 'merchant' | 'otherMerchant' | 'courier' | 'otherCourier' | 'dispatcher' | 'host';

/**
 * Who may do what to an order and its offer (API.md): every order route, offer
 * route and order socket event, against every role and a stranger of the same
 * role. A refusal is a problem+json 404 (not yours) or 403 (wrong role), and
 * changes nothing.
 */
describe('order authorization (real Kafka and Redis)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;
  let people: Record<Who, Actor>;
  let assigned: OrderView;
  let offered: { order: OrderView; offerId: string };

  beforeAll(async () => {
    stack = await startStack({ OFFER_TTL_S: '120' });
    world = new DispatchWorld(stack);
    const pickup = somewhere();
    const [customer, otherCustomer, merchant, otherMerchant, otherCourier, dispatcher, host] = await Promise.all([
      world.actor('customer', ['customer']),
      world.actor('customer', ['customer']),
      world.actor('merchant', ['merchant']),
      world.actor('merchant', ['merchant']),
      world.actor('courier', ['courier']),
      world.actor('dispatcher', ['dispatcher']),
      world.actor('host', ['host']),
    ]);
    const courier = await world.courierAt(offset(pickup, 200));
    people = { customer, otherCustomer, merchant, otherMerchant, courier, otherCourier, dispatcher, host };

    // One order assigned to `courier`; one more whose offer to a second courier stays open.
    const first = await world.place(customer, { pickup, dropoff: offset(pickup, 900), merchantId: merchant.id });
    const firstOffer = await courier.inbox.next('offer.created', (o) => o.orderId === first.id);
    await courier.client.offers.accept(firstOffer.offerId);
    assigned = await world.orderReaches(dispatcher, first.id, 'assigned');

    const spare = await world.courierAt(offset(pickup, 400));
    const second = await world.place(customer, { pickup, dropoff: offset(pickup, 300), merchantId: merchant.id });
    const secondOffer = await spare.inbox.next('offer.created', (o) => o.orderId === second.id);
    offered = { order: await world.orderReaches(dispatcher, second.id, 'offered'), offerId: secondOffer.offerId };
  });
  afterAll(async () => {
    world?.close();
    await stack?.stop();
  });

  async function expectUnchanged(order: OrderView): Promise<void> {
    expect(await people.dispatcher.client.orders.get(order.id)).toEqual(order);
  }

  const readers: Record<Who, number> = {
    customer: 200,
    otherCustomer: 404,
    merchant: 200,
    otherMerchant: 404,
    courier: 200,
    otherCourier: 404,
    dispatcher: 200,
    host: 404,
  };

  it.each(Object.entries(readers))('GET /v1/orders/{id} as %s → %i', async (who, status) => {
    // Raw: a refusal's problem+json media type is checked too, which a typed error does not carry.
    const res = await people[who as Who].api<{ id?: string }>('GET', `/v1/orders/${assigned.id}`);
    expect(res.status).toBe(status);
    if (status === 200) expect(res.body.id).toBe(assigned.id);
    else expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it.each(Object.entries(readers))('order.subscribe as %s → %i', async (who, status) => {
    const watching = people[who as Who].live.watchOrder(assigned.id);
    if (status === 200) await expect(watching).resolves.toBeUndefined();
    else await expect(watching).rejects.toMatchObject({ status });
  });

  it('lists each caller only the orders that are theirs', async () => {
    const ids = async (who: Who) => (await people[who].client.orders.list({ limit: 100 })).items.map((o) => o.id);
    expect(await ids('customer')).toEqual([offered.order.id, assigned.id]);
    expect(await ids('merchant')).toEqual([offered.order.id, assigned.id]);
    expect(await ids('courier')).toEqual([assigned.id]);
    expect(await ids('dispatcher')).toEqual(expect.arrayContaining([offered.order.id, assigned.id]));
    expect(await ids('otherCustomer')).toEqual([]);
    expect(await ids('otherMerchant')).toEqual([]);
    expect(await ids('otherCourier')).toEqual([]);
    await expect(people.host.client.orders.list()).rejects.toBeInstanceOf(ForbiddenError);
  });

  const refusals: [string, string, Who, number][] = [
    ['cancel', 'POST /cancel', 'otherCustomer', 404],
    ['cancel', 'POST /cancel', 'merchant', 403],
    ['cancel', 'POST /cancel', 'courier', 403],
    ['cancel', 'POST /cancel', 'host', 403],
    ['pickup', 'POST /pickup', 'otherCourier', 404],
    ['pickup', 'POST /pickup', 'customer', 403],
    ['pickup', 'POST /pickup', 'dispatcher', 403],
    ['deliver', 'POST /deliver', 'otherCourier', 404],
    ['deliver', 'POST /deliver', 'merchant', 403],
    ['redispatch', 'POST /redispatch', 'customer', 403],
    ['redispatch', 'POST /redispatch', 'courier', 403],
  ];

  it.each(refusals)('%s (%s) as %s → %i, and the order is unchanged', async (action, _route, who, status) => {
    // Raw: a refusal's problem+json media type is checked too, which a typed error does not carry.
    const res = await people[who].api<ProblemDetails>('POST', `/v1/orders/${assigned.id}/${action}`);
    expect(res.status).toBe(status);
    expect(res.body.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    await expectUnchanged(assigned);
  });

  it.each<[Who, number]>([
    ['otherCourier', 404],
    ['courier', 404],
    ['customer', 403],
    ['dispatcher', 403],
  ])(
    'accepting or declining someone else’s offer as %s → %i, over REST and socket, and the offer stays open',
    async (who, status) => {
      const { client, live } = people[who];
      await expect(client.offers.accept(offered.offerId)).rejects.toMatchObject({ status });
      await expect(live.acceptOffer(offered.offerId)).rejects.toMatchObject({ status });
      await expect(client.offers.decline(offered.offerId)).rejects.toMatchObject({ status });
      await expect(live.declineOffer(offered.offerId)).rejects.toMatchObject({ status });
      await expectUnchanged(offered.order);
    },
  );

  it('documents every order and offer route in the OpenAPI document', async () => {
    expect(await documentedRoutes(stack.baseUrl)).toEqual(
      expect.arrayContaining([
        'POST /v1/orders',
        'GET /v1/orders',
        'GET /v1/orders/{id}',
        'POST /v1/orders/{id}/cancel',
        'POST /v1/orders/{id}/redispatch',
        'POST /v1/orders/{id}/pickup',
        'POST /v1/orders/{id}/deliver',
        'POST /v1/offers/{id}/accept',
        'POST /v1/offers/{id}/decline',
      ]),
    );
  });

  it('rejects malformed ids and payloads with 400/404 problems', async () => {
    // An id of the wrong type, as a client without the SDK's types could send it.
    const numericId = { offerId: 42 } as unknown as OfferRef;
    await expect(people.courier.live.send('offer.accept', numericId)).rejects.toMatchObject({
      status: 400,
      errors: [{ path: 'body.offerId' }],
    });
    await expect(people.customer.client.orders.get('not-an-order')).rejects.toBeInstanceOf(NotFoundError);
    await expect(people.customer.client.orders.list({ limit: 500 })).rejects.toBeInstanceOf(BadRequestError);
    // Raw: no typed call sends a status outside the enum.
    expect((await people.customer.api('GET', '/v1/orders?status=lost')).status).toBe(400);
    const unknownField = await people.customer.api<ProblemDetails>('POST', '/v1/orders', {
      pickup: { lat: 1, lng: 1 },
      dropoff: { lat: 1, lng: 2 },
      tip: 5,
    });
    expect(unknownField).toMatchObject({
      status: 400,
      body: { errors: [{ path: 'body.tip', message: 'unknown field' }] },
    });
    const outOfRange = people.customer.client.orders.place({
      pickup: { lat: 91, lng: 1 },
      dropoff: { lat: 1, lng: 2 },
    });
    await expect(outOfRange).rejects.toBeInstanceOf(BadRequestError);
    await expect(outOfRange).rejects.toMatchObject({ errors: [{ path: 'body.pickup.lat' }] });
    const order = { pickup: { lat: 1, lng: 1 }, dropoff: { lat: 1, lng: 2 } };
    await expect(
      people.customer.client.orders.place(order, { idempotencyKey: 'x'.repeat(300) }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(people.courier.client.orders.place(order)).rejects.toBeInstanceOf(ForbiddenError);
  });
});
