import type { LogPositions } from '@mesh/bus';
import { TOPIC_OF_EVENT } from '@mesh/contracts';
import type { MemoryCourierGeoRepository } from '@mesh/geo';
import type { MemoryOutbox } from '@mesh/outbox';
import { marketTag } from '@mesh/redis';
import {
  DispatchStore,
  StateUnavailable,
  courierEngagement,
  type CourierSlot,
  type IdempotencyBinding,
  type RestoredOrder,
  type DispatchChange,
  type OrderListFilter,
  type StoredOffer,
  type StoredOrder,
} from './dispatch-store.port';

/** In memory the state lives and dies with the process: one incarnation. */
const INCARNATION = 'memory';

/**
 * Dispatch state in process memory, for the embedded default and small tests.
 * Couriers are the in-memory geo repository's, as in Redis they share one hash.
 * A commit runs without awaiting anything, so it is atomic on the event loop.
 */
export class MemoryDispatchStore extends DispatchStore {
  private readonly orders = new Map<string, StoredOrder>();
  private readonly offers = new Map<string, StoredOffer>();
  private readonly deadlines = new Map<string, number>();
  private readonly idempotency = new Map<string, { binding: IdempotencyBinding; expiresAtMs: number }>();
  private readonly builtAt = new Map<string, { positions: LogPositions; verifiedOn: string }>();

  constructor(
    private readonly couriers: MemoryCourierGeoRepository,
    private readonly outbox: MemoryOutbox,
  ) {
    super();
  }

  order(orderId: string): Promise<StoredOrder | null> {
    const found = this.orders.get(orderId);
    return Promise.resolve(found ? structuredClone(found) : null);
  }

  offer(offerId: string): Promise<StoredOffer | null> {
    const found = this.offers.get(offerId);
    return Promise.resolve(found ? structuredClone(found) : null);
  }

  courier(courierId: string, market: string): Promise<CourierSlot> {
    const state = this.couriers.state(courierId);
    if (state.market !== market) {
      return Promise.resolve({
        id: courierId,
        status: 'offline',
        offerId: null,
        activeOrderId: null,
        location: null,
        vehicle: state.vehicle,
      });
    }
    return Promise.resolve({
      id: courierId,
      status: state.status,
      offerId: state.offerId,
      activeOrderId: state.activeOrderId,
      location: state.fix ? { lat: state.fix.lat, lng: state.fix.lng } : null,
      vehicle: state.vehicle,
    });
  }

  commit(change: DispatchChange): Promise<StoredOrder | null> {
    const { order, offer, courier } = change;
    if (this.builtAt.get(order.after.market)?.verifiedOn !== INCARNATION) return Promise.reject(new StateUnavailable());
    const current = this.orders.get(order.after.id);
    if ((current?.version ?? null) !== (order.before?.version ?? null)) return Promise.resolve(null);
    if (offer && (this.offers.get(offer.after.offerId)?.status ?? null) !== (offer.before?.status ?? null)) {
      return Promise.resolve(null);
    }
    if (courier) {
      const state = this.couriers.state(courier.after.id);
      const { before } = courier;
      if (
        state.market !== order.after.market ||
        state.status !== before.status ||
        state.offerId !== before.offerId ||
        state.activeOrderId !== before.activeOrderId
      ) {
        return Promise.resolve(null);
      }
      state.status = courier.after.status;
      state.offerId = courier.after.offerId;
      state.activeOrderId = courier.after.activeOrderId;
    }
    const after: StoredOrder = { ...structuredClone(order.after), version: (order.before?.version ?? 0) + 1 };
    this.orders.set(after.id, after);
    if (offer) this.offers.set(offer.after.offerId, structuredClone(offer.after));
    if (change.deadlineAtMs === null) this.deadlines.delete(after.id);
    else this.deadlines.set(after.id, change.deadlineAtMs);
    if (change.event) this.outbox.appendNow(marketTag(after.market), TOPIC_OF_EVENT[change.event.type], change.event);
    return Promise.resolve(structuredClone(after));
  }

  restore(orders: readonly RestoredOrder[]): Promise<number> {
    let written = 0;
    for (const { order, offer, deadlineAtMs } of orders) {
      if ((this.orders.get(order.id)?.version ?? 0) >= order.version) continue;
      this.orders.set(order.id, structuredClone(order));
      if (offer) this.offers.set(offer.offerId, structuredClone(offer));
      if (deadlineAtMs === null) this.deadlines.delete(order.id);
      else this.deadlines.set(order.id, deadlineAtMs);
      const engagement = courierEngagement(order, offer);
      if (engagement) {
        const state = this.couriers.state(engagement.courierId);
        const mine =
          (engagement.offerId !== null && state.offerId === engagement.offerId) || state.activeOrderId === order.id;
        const engagedElsewhere = state.status === 'offered' || state.status === 'busy';
        if (engagement.status && (mine || !engagedElsewhere)) {
          state.status = engagement.status;
          state.offerId = engagement.offerId;
          state.activeOrderId = engagement.activeOrderId;
        } else if (!engagement.status && mine) {
          state.status = 'available';
          state.offerId = null;
          state.activeOrderId = null;
        }
      }
      written++;
    }
    return Promise.resolve(written);
  }

  built(market: string): Promise<LogPositions | null> {
    const built = this.builtAt.get(market);
    return Promise.resolve(built ? { ...built.positions } : null);
  }

  /** In memory the state lives and dies with the process: one incarnation. */
  incarnation(_market: string): Promise<string> {
    return Promise.resolve(INCARNATION);
  }

  verified(market: string): Promise<boolean> {
    return Promise.resolve(this.builtAt.get(market)?.verifiedOn === INCARNATION);
  }

  markBuilt(market: string, positions: LogPositions, incarnation: string): Promise<void> {
    this.builtAt.set(market, { positions: { ...positions }, verifiedOn: incarnation });
    return Promise.resolve();
  }

  list({
    owner,
    status,
    limit,
    cursor,
  }: OrderListFilter): Promise<{ items: StoredOrder[]; nextCursor: string | null }> {
    const mine = [...this.orders.values()]
      .filter((o) => {
        switch (owner.kind) {
          case 'all':
            return true;
          case 'customer':
            return o.customerId === owner.id;
          case 'merchant':
            return o.merchantId === owner.id;
          case 'courier':
            return o.courierId === owner.id;
        }
      })
      .filter((o) => (!status || o.status === status) && (!cursor || o.id < cursor))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const items = mine.slice(0, limit).map((o) => structuredClone(o));
    return Promise.resolve({ items, nextCursor: mine.length > limit ? (items.at(-1)?.id ?? null) : null });
  }

  bindIdempotencyKey(
    customerId: string,
    key: string,
    binding: IdempotencyBinding,
    ttlS: number,
  ): Promise<IdempotencyBinding> {
    const id = `${customerId}\u0000${key}`;
    const bound = this.idempotency.get(id);
    if (bound && bound.expiresAtMs > Date.now()) return Promise.resolve({ ...bound.binding });
    this.idempotency.set(id, { binding: { ...binding }, expiresAtMs: Date.now() + ttlS * 1000 });
    return Promise.resolve({ ...binding });
  }

  unbindIdempotencyKey(customerId: string, key: string, binding: IdempotencyBinding): Promise<void> {
    const id = `${customerId}\u0000${key}`;
    const bound = this.idempotency.get(id)?.binding;
    if (bound?.orderId === binding.orderId && bound.fingerprint === binding.fingerprint) this.idempotency.delete(id);
    return Promise.resolve();
  }

  leaseDueDeadlines(market: string, nowMs: number, limit: number, leaseMs: number): Promise<string[]> {
    const due = [...this.deadlines]
      .filter(([id, at]) => at <= nowMs && this.orders.get(id)?.market === market)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([id]) => id);
    for (const id of due) this.deadlines.set(id, nowMs + leaseMs);
    return Promise.resolve(due);
  }

  setDeadline(orderId: string, atMs: number | null, version: number | null): Promise<boolean> {
    if ((this.orders.get(orderId)?.version ?? null) !== version) return Promise.resolve(false);
    if (atMs === null) this.deadlines.delete(orderId);
    else this.deadlines.set(orderId, atMs);
    return Promise.resolve(true);
  }
}
