import { Inject, Injectable } from '@nestjs/common';
import { PublishTimeout } from '@mesh/bus';
import { Clock } from '@mesh/clock';
import {
  newId,
  rooms,
  type OrderChangeType,
  type OrderList,
  type OrderListQuery,
  type OfferView,
  type OrderView,
  type PlaceOrder,
  type Principal,
} from '@mesh/contracts';
import {
  CUSTOMER_CANCELLABLE,
  DispatchStore,
  OrderEventPublisher,
  announced,
  answerOffer,
  cancel,
  commitFresh,
  deliver,
  readBuilt,
  newOrder,
  orderView,
  pickUp,
  redispatch,
  type DispatchChange,
  type StoredOrder,
} from '@mesh/dispatch';
import { ProofLinks } from '@mesh/media';
import { Markets } from '@mesh/geo';
import { OutboxHandoff } from '@mesh/outbox';
import { marketTag } from '@mesh/redis';
import { ClientPush } from '@mesh/realtime';
import { ProblemCode, ProblemError, problems } from '@mesh/problem';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { createHash } from 'node:crypto';
import { listingOwner, maySeeOrder } from './order-access';

const SOURCE = '/gateway/orders';
/** How long an Idempotency-Key keeps answering with its order. */
const IDEMPOTENCY_TTL_S = 24 * 3600;
/** How long placing waits for Kafka: while it is down, customers hear so within a second (API.md's 503). */
const PLACE_TIMEOUT_MS = 800;

/**
 * Orders and offers as the apps drive them. Placing an order puts it on Kafka
 * before anything else; every later change is one atomic compare-and-set in the
 * dispatch store (so a late accept and an expiry cannot both win), then an event.
 */
@Injectable()
export class OrdersService {
  constructor(
    private readonly store: DispatchStore,
    private readonly events: OrderEventPublisher,
    private readonly handoff: OutboxHandoff,
    private readonly push: ClientPush,
    private readonly metrics: Metrics,
    private readonly proofLinks: ProofLinks,
    private readonly markets: Markets,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** The order as `who` is shown it (they may see it): its proof photo's URLs signed afresh. */
  present(order: StoredOrder): OrderView {
    const view = orderView(order);
    return { ...view, proof: this.proofLinks.view(order.id, order.proofUploadId, view.proof) };
  }

  async place(customer: Principal, place: PlaceOrder, idempotencyKey?: string): Promise<OrderView> {
    const market = this.marketOf(place);
    const id = newId();
    // Only a request with a key is fingerprinted: the hash is the place path's cost, not every order's.
    const binding = idempotencyKey ? { orderId: id, fingerprint: fingerprint(place) } : null;
    if (idempotencyKey && binding) {
      const bound = await this.store.bindIdempotencyKey(customer.sub, idempotencyKey, binding, IDEMPOTENCY_TTL_S);
      if (bound.orderId !== id) {
        if (bound.fingerprint !== binding.fingerprint) {
          throw problems.unprocessable('This Idempotency-Key was used with a different order; use a new key.');
        }
        return this.replay(customer, bound.orderId);
      }
    }
    const change = newOrder({ id, customerId: customer.sub, place, market, now: this.clock.now() });
    const placed = { ...change.order.after, version: 1 };
    try {
      await this.events.publish('order.created', placed, null, SOURCE, { timeoutMs: PLACE_TIMEOUT_MS });
    } catch (err) {
      // Sent but unconfirmed: it may still land (and then be dispatched), so a retry with the same key must find it.
      const inDoubt = err instanceof PublishTimeout && err.sent;
      if (idempotencyKey && binding && !inDoubt) {
        await this.store.unbindIdempotencyKey(customer.sub, idempotencyKey, binding).catch(() => undefined);
      }
      this.logger.error({ err, orderId: id, inDoubt }, 'order.created was not accepted by the bus');
      throw problems.dependencyDown(
        inDoubt
          ? 'The order could not be confirmed. Retry with the same Idempotency-Key to learn whether it was placed.'
          : 'The order could not be queued; nothing was placed. Retry shortly.',
      );
    }
    this.metrics.eventsPublished.inc({ topic: 'orders' });
    // Kafka has it, so it is placed; the dispatch function also records it should this write not land.
    await this.store
      .commit(change)
      .catch((err: unknown) => this.logger.warn({ err, orderId: id }, 'order record deferred'));
    return this.present(placed);
  }

  async get(who: Principal, orderId: string): Promise<OrderView> {
    return this.present(await this.visible(who, orderId));
  }

  async list(who: Principal, query: OrderListQuery): Promise<OrderList> {
    const owner = listingOwner(who);
    if (!owner) throw problems.forbidden('Only customers, couriers, merchants and dispatchers have orders.');
    const page = await this.store.list({ owner, limit: query.limit, ...optional(query) });
    return { items: page.items.map((order) => this.present(order)), nextCursor: page.nextCursor };
  }

  /** 404 unless the order exists and the caller may see it. */
  async visible(who: Principal, orderId: string): Promise<StoredOrder> {
    const order = await readBuilt(this.store, this.markets, () => this.store.order(orderId));
    // Only a courier who is not the assigned one can need the live offer to see the order.
    const offer =
      order?.offerId && who.roles.includes('courier') && order.courierId !== who.sub
        ? await this.store.offer(order.offerId)
        : null;
    if (!order || !maySeeOrder(who, order, offer)) throw problems.notFound(`There is no order ${orderId}.`);
    return order;
  }

  cancel(who: Principal, orderId: string): Promise<OrderView> {
    return this.change(who, orderId, 'order.cancelled', async (order) => {
      if (!who.roles.includes('dispatcher')) {
        if (!(who.roles.includes('customer') && order.customerId === who.sub)) {
          throw problems.forbidden('Only the order’s customer or a dispatcher may cancel it.');
        }
        if (!CUSTOMER_CANCELLABLE.includes(order.status)) {
          throw problems.conflict('The courier has picked the order up; ask a dispatcher to cancel it.');
        }
      }
      const offer = order.offerId ? await this.store.offer(order.offerId) : null;
      const courierId = offer?.status === 'pending' ? offer.courierId : order.courierId;
      const courier = courierId ? await this.store.courier(courierId, order.market) : null;
      return cancel(order, { offer, courier }, this.clock.now());
    });
  }

  async redispatch(who: Principal, orderId: string): Promise<OrderView> {
    let released: string | null = null;
    const view = await this.change(who, orderId, 'order.redispatched', (order) => {
      released = order.courierId;
      return Promise.resolve(redispatch(order, this.clock.now()));
    });
    // The courier taken off the order no longer sees it: their sockets stop watching it.
    if (released) this.push.leave(rooms.courier(released), rooms.order(orderId));
    return view;
  }

  pickUp(who: Principal, orderId: string): Promise<OrderView> {
    return this.change(who, orderId, 'order.picked_up', (order) => {
      this.requireAssignedCourier(who, order);
      return Promise.resolve(pickUp(order, this.clock.now()));
    });
  }

  deliver(who: Principal, orderId: string): Promise<OrderView> {
    return this.change(who, orderId, 'order.delivered', async (order) => {
      this.requireAssignedCourier(who, order);
      return deliver(order, await this.store.courier(who.sub, order.market), this.clock.now());
    });
  }

  /**
   * The offer a courier holds right now, if it is still open: sent again when the
   * courier's app (re)connects, so an offer made while its socket was away is not
   * missed and left to expire.
   */
  async openOffer(courierId: string): Promise<OfferView | null> {
    // An offer is made in the courier's market; which one that is, the slots tell.
    const slots = await Promise.all(this.markets.names.map((market) => this.store.courier(courierId, market)));
    const courier = slots.find((slot) => slot.status === 'offered');
    if (!courier?.offerId) return null;
    const offer = await this.store.offer(courier.offerId);
    if (!offer || offer.status !== 'pending' || offer.courierId !== courierId) return null;
    if (Date.parse(offer.expiresAt) <= this.clock.nowMs()) return null;
    const { courierId: _courier, status: _status, ...view } = offer;
    return view;
  }

  /** The offered courier says yes (the order is theirs) or no (dispatch moves on). */
  async answerOffer(who: Principal, offerId: string, answer: 'accept' | 'decline'): Promise<OrderView> {
    const { order, change } = await commitFresh(this.store, async () => {
      const offer = await readBuilt(this.store, this.markets, () => this.store.offer(offerId));
      if (!offer || offer.courierId !== who.sub) throw problems.notFound(`There is no offer ${offerId}.`);
      const order = await this.store.order(offer.orderId);
      if (!order) throw problems.notFound(`There is no offer ${offerId}.`);
      const courier = await this.store.courier(who.sub, order.market);
      const change = answerOffer(order, offer, courier, answer, this.clock.now());
      return announced(change, answer === 'accept' ? 'order.assigned' : 'order.offer_declined', SOURCE);
    });
    await this.settled(change);
    return this.present(order);
  }

  private async change(
    who: Principal,
    orderId: string,
    type: OrderChangeType,
    build: (order: StoredOrder) => Promise<DispatchChange>,
  ): Promise<OrderView> {
    // The change and its event commit together; the outbox relay puts the event on Kafka, whenever Kafka can take it.
    const { order, change } = await commitFresh(this.store, async () =>
      announced(await build(await this.visible(who, orderId)), type, SOURCE),
    );
    await this.settled(change);
    return this.present(order);
  }

  /** Answers a committed change only once its event is on Kafka (see OutboxHandoff). */
  async settled(change: DispatchChange): Promise<void> {
    if (change.event) await this.handoff.settle(marketTag(change.order.after.market), 'orders', change.event);
  }

  private async replay(customer: Principal, orderId: string): Promise<OrderView> {
    const order = await this.store.order(orderId);
    if (order && order.customerId === customer.sub) return this.present(order);
    throw problems.conflict('A request with this Idempotency-Key is still being processed; retry shortly.');
  }

  requireAssignedCourier(who: Principal, order: StoredOrder): void {
    if (!who.roles.includes('courier') || order.courierId !== who.sub) {
      throw problems.forbidden('Only the order’s assigned courier may do this.');
    }
  }

  /** The market of the pickup; both ends must lie in a market (the service area is all of them). */
  private marketOf(place: PlaceOrder): string {
    const [pickup, dropoff] = [this.markets.of(place.pickup), this.markets.of(place.dropoff)];
    if (pickup !== null && dropoff !== null) return pickup;
    const outside = (['pickup', 'dropoff'] as const).filter((end) => (end === 'pickup' ? pickup : dropoff) === null);
    throw new ProblemError(
      ProblemCode.Unprocessable,
      'The order is outside the service area.',
      outside.map((end) => ({ path: `body.${end}`, message: 'outside the service area' })),
    );
  }
}

/** What identifies a request to place an order, whatever the order of its JSON keys. */
function fingerprint(place: PlaceOrder): string {
  return createHash('sha256').update(canonicalJson(place)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function optional(query: OrderListQuery): { status?: OrderListQuery['status']; cursor?: string } {
  return { ...(query.status ? { status: query.status } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) };
}
