import { NotFoundError } from '@mesh/client';
import type { OrderView, PushMeta } from '@mesh/contracts';
import { RedisConnection } from '@mesh/redis';
import { eventually, startStack, type RunningStack } from '@mesh/harness';
import { io, type Socket } from 'socket.io-client';
import { DispatchWorld, offset, somewhere } from './support/dispatch-world';

interface Received {
  event: string;
  payload: unknown;
  meta?: PushMeta;
}

/** A customer app that remembers the last offset it saw per room and resumes from them. */
class ResumingApp {
  readonly received: Received[] = [];
  readonly offsets: Record<string, string> = {};
  socket: Socket | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async connect(resume?: Record<string, string>): Promise<void> {
    const socket = io(this.baseUrl, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: this.token, ...(resume ? { resume } : {}) },
    });
    socket.onAny((event: string, payload: unknown, meta?: PushMeta) => {
      this.received.push({ event, payload, ...(meta ? { meta } : {}) });
      if (meta && Number(meta.offset) > Number(this.offsets[meta.room] ?? 0)) this.offsets[meta.room] = meta.offset;
    });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
  }

  /**
   * Reconnects with the offsets it kept and waits for `recovery`: answers where the
   * reconnection's events begin, those events, and the index of `recovery` among them.
   */
  async resume(): Promise<{ from: number; after: Received[]; recoveryAt: number }> {
    const from = this.received.length;
    await this.connect({ ...this.offsets });
    await eventually(() => expect(this.received.slice(from).map((r) => r.event)).toContain('recovery'));
    const after = this.received.slice(from);
    return { from, after, recoveryAt: after.findIndex((r) => r.event === 'recovery') };
  }

  statuses(orderId: string, from = 0): string[] {
    return this.received
      .slice(from)
      .filter((r) => r.event === 'order.updated' && (r.payload as OrderView).id === orderId)
      .map((r) => (r.payload as OrderView).status);
  }
}

/**
 * API.md "Missed events": a customer whose app was away while its order moved on
 * reconnects (to a restarted gateway) with its offsets, and gets exactly what it
 * missed, in order, before being told it recovered.
 */
describe('missed events are recovered on reconnect (real Kafka and Redis)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;

  beforeAll(async () => {
    stack = await startStack();
    world = new DispatchWorld(stack);
  });
  afterAll(async () => {
    world?.close();
    await stack?.stop();
  });

  /** A customer whose app saw its new order offered (watching the order's room too, if asked), then went away. */
  async function awayOnceOffered({ watchOrder }: { watchOrder: boolean }) {
    const here = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const courier = await world.courierAt(offset(here, 200));
    const app = new ResumingApp(stack.baseUrl, customer.token);
    await app.connect();
    await eventually(() => expect(app.received).toContainEqual({ event: 'recovery', payload: { recovered: false } }));
    const order = await world.place(customer, { pickup: here, dropoff: offset(here, 900) });
    if (watchOrder) {
      const subscribed = (await app.socket!.emitWithAck('order.subscribe', { orderId: order.id })) as { ok: boolean };
      expect(subscribed.ok).toBe(true);
    }
    const offer = await courier.inbox.next('offer.created', (o) => o.orderId === order.id);
    await eventually(() => expect(app.statuses(order.id)).toContain('offered'));
    app.socket!.disconnect();
    return { customer, courier, app, order, offer };
  }

  it('replays what happened to an order while the customer was away, once each and in order, then says so', async () => {
    const { customer, courier, app, order, offer } = await awayOnceOffered({ watchOrder: true });

    // Away: the order is accepted, picked up and delivered; and the gateway itself is replaced.
    await courier.client.offers.accept(offer.offerId);
    await courier.client.orders.pickUp(order.id);
    await courier.client.orders.deliver(order.id);
    await world.orderReaches(customer, order.id, 'delivered');
    // The pushes have left the functions once the courier's own copy of the last one arrived.
    await courier.inbox.next('order.updated', (o) => o.id === order.id && o.status === 'delivered');
    await stack.restartGateway('SIGTERM');

    const { from: before, after, recoveryAt } = await app.resume();
    expect(after[recoveryAt]?.payload).toEqual({ recovered: true });
    // Everything missed came before `recovery`, once each (the customer is in two of its rooms), in order.
    expect(app.statuses(order.id, before)).toEqual(['assigned', 'picked_up', 'delivered']);
    expect(after.slice(0, recoveryAt).every((r) => r.event === 'order.updated')).toBe(true);
    const ids = after.filter((r) => r.meta).map((r) => r.meta!.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Quiet afterwards: nothing comes twice.
    const settled = app.received.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(app.received.slice(settled).filter((r) => r.event === 'order.updated')).toEqual([]);
    app.socket!.disconnect();
  });

  it('sends what is left of a history that lost its older part (Redis lost its data), and says to refetch', async () => {
    const { customer, courier, app, order, offer } = await awayOnceOffered({ watchOrder: false });

    // Away: the order is accepted, the customer's histories go (as with Redis' data), then it is picked up.
    await courier.client.offers.accept(offer.offerId);
    await courier.inbox.next('order.updated', (o) => o.id === order.id && o.status === 'assigned');
    const redis = new RedisConnection({
      url: String(stack.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
      keyPrefix: String(stack.env.REDIS_KEY_PREFIX),
    });
    try {
      // Every room the customer heard the order through (its pushes are kept in each).
      expect(await redis.client.del(`{history}:user:${customer.id}`, `{history}:order:${order.id}`)).toBe(2);
    } finally {
      await redis.close();
    }
    await courier.client.orders.pickUp(order.id);
    await courier.inbox.next('order.updated', (o) => o.id === order.id && o.status === 'picked_up');

    const { from: before, after, recoveryAt } = await app.resume();
    expect(after[recoveryAt]?.payload).toEqual({ recovered: false });
    // The push made after the loss still comes, before `recovery`; the app refetches for the one lost (assigned).
    expect(app.statuses(order.id, before)).toEqual(['picked_up']);
    expect(after.slice(0, recoveryAt).map((r) => r.event)).toEqual(['order.updated']);
    app.socket!.disconnect();
  });

  it('says it could not recover when the offsets are not ones it gave out, so the app refetches', async () => {
    const customer = await world.actor('customer', ['customer']);
    const app = new ResumingApp(stack.baseUrl, customer.token);
    await app.connect({ [`user:${customer.id}`]: '9999999999999999999' });
    await eventually(() => expect(app.received).toContainEqual({ event: 'recovery', payload: { recovered: false } }));
    app.socket!.disconnect();
  });

  it('replays an order room to a re-subscribe that carries its offset, and refuses one it may not see', async () => {
    const here = somewhere();
    const [customer, stranger] = [
      await world.actor('customer', ['customer']),
      await world.actor('customer', ['customer']),
    ];
    const courier = await world.courierAt(offset(here, 150));
    const earlier = new ResumingApp(stack.baseUrl, customer.token);
    await earlier.connect();
    const order = await world.place(customer, { pickup: here, dropoff: offset(here, 700) });
    expect(((await earlier.socket!.emitWithAck('order.subscribe', { orderId: order.id })) as { ok: boolean }).ok).toBe(
      true,
    );
    const offer = await courier.inbox.next('offer.created', (o) => o.orderId === order.id);
    await eventually(() => expect(earlier.statuses(order.id)).toContain('offered'));
    const seen = earlier.offsets[`order:${order.id}`];
    expect(seen).toBeDefined();
    earlier.socket!.disconnect();
    // Another of the customer's sockets stays connected throughout: the accept reaches it live.
    const current = new ResumingApp(stack.baseUrl, customer.token);
    await current.connect();

    await courier.client.offers.accept(offer.offerId);
    await courier.inbox.next('order.updated', (o) => o.id === order.id && o.status === 'assigned');
    await eventually(() => expect(current.statuses(order.id)).toEqual(['assigned']));

    // A new connection without resume, then the order watched again from where the app had got to.
    const later = new ResumingApp(stack.baseUrl, customer.token);
    await later.connect();
    const ack = await later.socket!.emitWithAck('order.subscribe', { orderId: order.id, offset: seen });
    expect(ack).toEqual({ ok: true, recovered: true });
    await eventually(() => expect(later.statuses(order.id)).toEqual(['assigned']));
    // The connected socket watching from the same offset is sent nothing again: it had the accept live.
    expect(await current.socket!.emitWithAck('order.subscribe', { orderId: order.id, offset: seen })).toEqual({
      ok: true,
      recovered: true,
    });
    expect(current.statuses(order.id)).toEqual(['assigned']);
    current.socket!.disconnect();
    await expect(stranger.live.send('order.subscribe', { orderId: order.id, offset: seen })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    later.socket!.disconnect();
  });
});
