import { ConflictError, MeshClient, NotFoundError, UnauthorizedError, type MeshLive } from '@mesh/client';
import type { OfferView, OrderStatus, OrderView } from '@mesh/contracts';
import { eventually, startStack, uniqueName, type RunningStack } from '@mesh/harness';
import { offset, somewhere } from './support/dispatch-world';

/**
 * `@mesh/client` as apps use it, against the real stack (Kafka, Redis): a courier
 * app and a customer app through a whole order, typed errors, a refused token
 * refreshed, and a customer's connection surviving its gateway's death.
 */
describe('@mesh/client against the real stack', () => {
  let stack: RunningStack;
  const lives: MeshLive[] = [];

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    for (const live of lives) live.close();
    await stack?.stop();
  });

  async function app(prefix: string, roles: ('customer' | 'courier' | 'dispatcher')[]) {
    const id = uniqueName(prefix);
    const token = await stack.token(id, roles);
    const client = new MeshClient({ baseUrl: stack.baseUrl, token });
    const live = client.live({ transports: ['websocket'] });
    lives.push(live);
    const pushes: { event: string; payload: unknown }[] = [];
    live.socket.onAny((event: string, payload: unknown) => pushes.push({ event, payload }));
    await live.connect();
    const statuses = (orderId: string) =>
      pushes
        .filter((p) => p.event === 'order.updated' && (p.payload as OrderView).id === orderId)
        .map((p) => (p.payload as OrderView).status);
    return { id, token, client, live, pushes, statuses };
  }

  /** A courier app, online at `spot` (position sent on its socket) once dispatch can see it. */
  async function courierAt(spot: { lat: number; lng: number }) {
    const courier = await app('courier', ['courier']);
    const offers: OfferView[] = [];
    courier.live.on('offer.created', (offer) => offers.push(offer));
    await courier.client.couriers.setAvailability(true);
    await courier.live.reportLocation({ ...spot, at: new Date().toISOString() });
    await eventually(async () =>
      expect(await courier.client.couriers.me()).toMatchObject({ status: 'available', location: spot }),
    );
    const offerFor = (orderId: string) =>
      eventually(() => {
        const offer = offers.find((o) => o.orderId === orderId);
        if (!offer) throw new Error(`no offer for ${orderId} yet`);
        return offer;
      });
    return { ...courier, offerFor };
  }

  it('takes an order from placing to delivery through the typed REST calls and socket events', async () => {
    const here = somewhere();
    const courier = await courierAt(offset(here, 150));
    const customer = await app('customer', ['customer']);

    const placed = await customer.client.orders.place({ pickup: here, dropoff: offset(here, 800) });
    expect(placed.status).toBe('pending');
    await customer.live.watchOrder(placed.id);
    const offer = await courier.offerFor(placed.id);

    const assigned = await courier.live.acceptOffer(offer.offerId);
    expect(assigned).toMatchObject({ id: placed.id, status: 'assigned', courierId: courier.id });
    // Answered already: the offer is gone.
    await expect(courier.live.acceptOffer(offer.offerId)).rejects.toBeInstanceOf(ConflictError);
    await courier.client.orders.pickUp(placed.id);
    const delivered = await courier.client.orders.deliver(placed.id);
    expect(delivered.status).toBe('delivered');

    await eventually(() =>
      expect(customer.statuses(placed.id)).toEqual(expect.arrayContaining(['assigned', 'picked_up', 'delivered'])),
    );
    expect(await customer.client.orders.get(placed.id)).toMatchObject({ status: 'delivered' });
    const mine: OrderView[] = [];
    for await (const order of customer.client.orders.each({ limit: 1 })) mine.push(order);
    expect(mine.map((o) => o.id)).toEqual([placed.id]);
  });

  it("throws someone else's order as NotFoundError, over REST and on the socket", async () => {
    const customer = await app('customer', ['customer']);
    const stranger = await app('customer', ['customer']);
    const here = somewhere();
    const order = await customer.client.orders.place({ pickup: here, dropoff: offset(here, 500) });

    const rest = await stranger.client.orders.get(order.id).catch((e: unknown) => e);
    expect(rest).toBeInstanceOf(NotFoundError);
    expect(rest).toMatchObject({ status: 404, requestId: expect.any(String) });
    await expect(stranger.live.watchOrder(order.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(stranger.client.orders.cancel(order.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await customer.client.orders.get(order.id)).status).not.toBe('cancelled');
  });

  it('refreshes a refused token once, for REST and for the socket, and gives up on one refused again', async () => {
    const sub = uniqueName('courier');
    const good = await stack.token(sub, ['courier']);
    const asked: boolean[] = [];
    const client = new MeshClient({
      baseUrl: stack.baseUrl,
      token: ({ refresh }) => {
        asked.push(refresh);
        return refresh ? good : 'expired-token';
      },
    });
    expect((await client.couriers.me()).id).toBe(sub);
    expect(asked).toEqual([false, true]);

    const socketAsked: boolean[] = [];
    const live = new MeshClient({
      baseUrl: stack.baseUrl,
      token: ({ refresh }) => {
        socketAsked.push(refresh);
        return refresh ? good : 'expired-token';
      },
    }).live({ transports: ['websocket'] });
    lives.push(live);
    await live.connect();
    expect(live.connected).toBe(true);
    expect(socketAsked).toEqual([false, true]);

    const never = new MeshClient({ baseUrl: stack.baseUrl, token: () => 'expired-token' });
    await expect(never.couriers.me()).rejects.toBeInstanceOf(UnauthorizedError);
    const refused = never.live({ transports: ['websocket'] });
    lives.push(refused);
    await expect(refused.connect()).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('comes back after its gateway died or it lost its connection, with every push it missed once and in order', async () => {
    const here = somewhere();
    const courier = await courierAt(offset(here, 150));
    const customer = await app('customer', ['customer']);
    const order = await customer.client.orders.place({ pickup: here, dropoff: offset(here, 900) });
    await customer.live.watchOrder(order.id);
    const offer = await courier.offerFor(order.id);
    await eventually(() => expect(customer.statuses(order.id)).toContain('offered'));
    const recoveries: boolean[] = [];
    customer.live.onRecovery((recovered) => recoveries.push(recovered));

    // The customer's phone goes into a tunnel; the gateway is killed; the courier's app reconnects by itself.
    const seenBefore = customer.statuses(order.id).length;
    customer.live.socket.disconnect();
    await stack.restartGateway('SIGKILL');
    await eventually(() => expect(courier.live.connected).toBe(true), { timeoutMs: 30_000 });
    await courier.live.acceptOffer(offer.offerId);
    await courier.client.orders.pickUp(order.id);
    await courier.client.orders.deliver(order.id);

    // Out of the tunnel, onto the new gateway: `recovered`, and what happened meanwhile comes once each, in
    // order: replayed from history, or live if order-updates had not pushed it yet when the socket came back.
    customer.live.socket.connect();
    const expected: OrderStatus[] = ['assigned', 'picked_up', 'delivered'];
    await eventually(() => expect(recoveries).toEqual([true]));
    await eventually(() => expect(customer.statuses(order.id).slice(seenBefore)).toEqual(expected));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(customer.statuses(order.id).slice(seenBefore)).toEqual(expected);
  });
});
