import type { LogPositions, MeshEvent } from '@mesh/bus';
import type { CourierStatus, OfferRecord, OrderChangeType, OrderStatus, OrderView, Vehicle } from '@mesh/contracts';

/** An order as dispatch keeps it: the public view plus dispatch bookkeeping. */
export interface StoredOrder extends OrderView {
  /** The live offer, while `offered`. */
  offerId: string | null;
  /** Couriers who declined or let an offer lapse; never offered this order again. */
  excluded: string[];
  /** Bumped by every committed change; a change built on an older version does not commit. */
  version: number;
  /** Searches that found no free courier since dispatch (re)started; each doubles the next wait. */
  emptySearches?: number;
  /** While waiting for couriers: when the next search is due (ms since the epoch). */
  retryAtMs?: number | null;
  /** The upload the proof photo is, while there is one (its objects are named by it). */
  proofUploadId?: string | null;
  /** The market of its pickup, for good: its state lives there and only that market's couriers are offered it. */
  market: string;
}

export const OFFER_STATUSES = ['pending', 'accepted', 'declined', 'expired', 'revoked'] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];

export interface StoredOffer extends OfferRecord {
  status: OfferStatus;
}

/** The part of a courier's state dispatch reads and writes. */
export interface CourierSlot {
  id: string;
  status: CourierStatus;
  offerId: string | null;
  activeOrderId: string | null;
  location: { lat: number; lng: number } | null;
  vehicle: Vehicle;
}

/**
 * One atomic change of dispatch state. It commits only if the order, the offer
 * and the courier are still as `before` says; otherwise nothing is written.
 */
export interface DispatchChange {
  order: { before: StoredOrder | null; after: StoredOrder };
  offer?: { before: StoredOffer | null; after: StoredOffer };
  courier?: { before: CourierSlot; after: CourierSlot };
  /** When the dispatch function must look at the order again (offer expiry, stalled dispatch); null: never. */
  deadlineAtMs: number | null;
  /** The event announcing the change: written to the outbox in the same atomic step, or not at all. */
  event?: MeshEvent<OrderChangeType>;
}

/** An order as a rebuild restores it from its latest event, with its offer and deadline. */
export interface RestoredOrder {
  order: StoredOrder;
  offer: StoredOffer | null;
  deadlineAtMs: number | null;
}

/**
 * The store came back without its state (Redis restarted empty) and has not
 * been rebuilt from the event log yet: nothing commits until it has, so no
 * decision is taken on state that is missing. Callers wait (503, or a retry).
 */
export class StateUnavailable extends Error {
  constructor() {
    super('dispatch state is being rebuilt from the event log');
    this.name = 'StateUnavailable';
  }
}

/** What an Idempotency-Key is bound to: the order, and the request it came with (a retry must match it). */
export interface IdempotencyBinding {
  orderId: string;
  fingerprint: string;
}

export interface OrderListFilter {
  /** Whose orders: one customer's, merchant's, courier's, or everyone's (dispatchers). */
  owner: { kind: 'customer' | 'merchant' | 'courier'; id: string } | { kind: 'all' };
  status?: OrderStatus;
  limit: number;
  /** The last id of the previous page. */
  cursor?: string;
}

/**
 * Live dispatch state: orders, offers, couriers' dispatch slots, deadlines.
 * Every change goes through `commit`, a compare-and-set over everything it touches,
 * so two dispatchers racing for one courier cannot both win.
 */
export abstract class DispatchStore {
  abstract order(orderId: string): Promise<StoredOrder | null>;
  abstract offer(offerId: string): Promise<StoredOffer | null>;
  /** The courier as `market`'s dispatch sees it: offline unless it is in that market. */
  abstract courier(courierId: string, market: string): Promise<CourierSlot>;
  /**
   * The order as committed (version bumped), or null when something changed since it was read.
   * Throws StateUnavailable while the state is not built.
   */
  abstract commit(change: DispatchChange): Promise<StoredOrder | null>;
  /**
   * Writes each order (with its offer, deadline, owner indexes and its courier's
   * engagement) unless the store holds the same or a newer version of it; answers
   * how many were written. Works whether or not the state is built.
   */
  abstract restore(orders: readonly RestoredOrder[]): Promise<number>;
  /**
   * The log positions a market's state includes, or null when it is not built (it
   * came back empty). Each market is built on its own: on a Redis Cluster a shard
   * that lost its data takes only its markets with it.
   */
  abstract built(market: string): Promise<LogPositions | null>;
  /**
   * Records that the market's state includes the log up to `positions` (and so is built), as
   * verified on the server `incarnation` names: while another server holds the market (a restart,
   * a promoted replica), no change commits there until it is verified again.
   */
  abstract markBuilt(market: string, positions: LogPositions, incarnation: string): Promise<void>;
  /**
   * Whether the market's state is built and verified on the server holding it now: what
   * it lacks is missing for good. False while it is not built, and after a restart or a
   * promoted replica until the rebuilder has replayed the log onto it (changes are
   * refused meanwhile; an order not found may only be missing).
   */
  abstract verified(market: string): Promise<boolean>;
  /**
   * Names this run of the server holding the market's state: it changes when that
   * server restarts or a replica takes over (and so may have come back with less than it had).
   */
  abstract incarnation(market: string): Promise<string>;
  /** Newest first, across markets. */
  abstract list(filter: OrderListFilter): Promise<{ items: StoredOrder[]; nextCursor: string | null }>;
  /**
   * Binds a customer's idempotency key to an order (its id, and a fingerprint of
   * the request that placed it) unless it is bound already; answers the binding.
   */
  abstract bindIdempotencyKey(
    customerId: string,
    key: string,
    binding: IdempotencyBinding,
    ttlS: number,
  ): Promise<IdempotencyBinding>;
  /** Frees a binding made for an order that was never placed. */
  abstract unbindIdempotencyKey(customerId: string, key: string, binding: IdempotencyBinding): Promise<void>;
  /**
   * Orders whose deadline has passed, leased for `leaseMs` (their deadline moves
   * that far ahead), so one sweeper handles each and a crashed one's are retried.
   */
  abstract leaseDueDeadlines(market: string, nowMs: number, limit: number, leaseMs: number): Promise<string[]>;
  /**
   * Moves (or, with null, drops) an order's deadline, as long as the order is
   * still at `version` (null: still absent); answers whether it did. A sweeper
   * that read the order a moment ago cannot undo a commit or a restore made since.
   */
  abstract setDeadline(orderId: string, atMs: number | null, version: number | null): Promise<boolean>;
}

/** The public view of a stored order. */
export function orderView(order: StoredOrder): OrderView {
  const {
    offerId: _offer,
    excluded: _excluded,
    version: _version,
    emptySearches: _emptySearches,
    retryAtMs: _retryAtMs,
    proofUploadId: _proofUploadId,
    market: _market,
    ...view
  } = order;
  return { ...view, proof: view.proof ?? null };
}

export function offerRecord(offer: StoredOffer): OfferRecord {
  const { status: _status, ...record } = offer;
  return record;
}

/**
 * The courier a restored order concerns and what it is to them: `offered` or
 * `busy` while the order engages them, `released` (status null) when the order
 * no longer does but the courier may still point at it.
 */
export function courierEngagement(
  order: StoredOrder,
  offer: StoredOffer | null,
): {
  courierId: string;
  status: 'offered' | 'busy' | null;
  offerId: string | null;
  activeOrderId: string | null;
} | null {
  if (order.status === 'offered' && offer?.status === 'pending') {
    return { courierId: offer.courierId, status: 'offered', offerId: offer.offerId, activeOrderId: null };
  }
  if ((order.status === 'assigned' || order.status === 'picked_up') && order.courierId) {
    return { courierId: order.courierId, status: 'busy', offerId: null, activeOrderId: order.id };
  }
  const courierId = offer?.courierId ?? order.courierId;
  return courierId ? { courierId, status: null, offerId: offer?.offerId ?? null, activeOrderId: null } : null;
}

/**
 * Whether every market's state is verified on the server holding it: until then it is being
 * rebuilt from the log (what readiness reports), and an order or offer that is not found may
 * only be missing (its market came back empty, or a replica took over without it), so callers
 * answer 503.
 */
export async function everyMarketVerified(
  store: DispatchStore,
  markets: { names: readonly string[] },
): Promise<boolean> {
  const verified = await Promise.all(markets.names.map((market) => store.verified(market)));
  return verified.every(Boolean);
}

/**
 * Reads an order or offer that may not exist: null when it does not, StateUnavailable
 * while it may only be missing (a market is being rebuilt). When not found, it is read
 * again after every market is seen verified: a rebuild that finished between the first read
 * and that look restored it, and a 404 then would tell a client its order is gone.
 */
export async function readBuilt<T>(
  store: DispatchStore,
  markets: { names: readonly string[] },
  read: () => Promise<T | null>,
): Promise<T | null> {
  const found = await read();
  if (found !== null) return found;
  if (!(await everyMarketVerified(store, markets))) throw new StateUnavailable();
  return read();
}
