import type { OrderStatus, PlaceOrder } from '@mesh/contracts';
import { problems } from '@mesh/problem';
import { orderEta } from './dispatch-ranking';
import type { CourierSlot, DispatchChange, StoredOffer, StoredOrder } from './dispatch-store.port';
import { transitionPath, type OrderAction } from './order-state';

/** How long an order may sit in pending/dispatching before the deadline sweeper nudges dispatch again. */
export const DISPATCH_STALL_MS = 5_000;

/**
 * The changes of an order's life as pure functions of the state they start
 * from. Each returns the whole atomic change (order, offer, courier, deadline);
 * each throws a 409 problem when the state does not allow it.
 */

function move(order: StoredOrder, action: OrderAction, now: Date, patch: Partial<StoredOrder> = {}): StoredOrder {
  const path = transitionPath(order.status, action);
  if (!path) throw problems.conflict(`An order that is ${describe(order.status)} cannot be ${PAST[action]}.`);
  const at = now.toISOString();
  return {
    ...order,
    ...patch,
    status: path.at(-1) as OrderStatus,
    updatedAt: at,
    timeline: [...order.timeline, ...path.map((status) => ({ status, at }))],
  };
}

const PAST: Readonly<Record<OrderAction, string>> = {
  offer: 'offered',
  accept: 'accepted',
  decline: 'declined',
  expire: 'expired',
  pickup: 'picked up',
  deliver: 'delivered',
  cancel: 'cancelled',
  give_up: 'given up',
  await_couriers: 'left waiting for couriers',
  redispatch: 'dispatched again',
};

function describe(status: OrderStatus): string {
  return status.replace('_', ' ');
}

export function newOrder(input: {
  id: string;
  customerId: string;
  place: PlaceOrder;
  /** The market of the pickup. */
  market: string;
  now: Date;
}): DispatchChange & { order: { before: null } } {
  const at = input.now.toISOString();
  const { pickup, dropoff, merchantId, items, note } = input.place;
  const after: StoredOrder = {
    id: input.id,
    status: 'pending',
    customerId: input.customerId,
    merchantId: merchantId ?? null,
    courierId: null,
    pickup,
    dropoff,
    items: items ?? [],
    note: note ?? null,
    attempts: 0,
    eta: null,
    createdAt: at,
    updatedAt: at,
    timeline: [{ status: 'pending', at }],
    proof: null,
    offerId: null,
    excluded: [],
    version: 0,
    market: input.market,
  };
  return { order: { before: null, after }, deadlineAtMs: input.now.getTime() + DISPATCH_STALL_MS };
}

export function makeOffer(
  order: StoredOrder,
  courier: CourierSlot,
  offer: { offerId: string; attempt: number; distanceM: number; ttlMs: number; now: Date },
): DispatchChange & { offer: { after: StoredOffer } } {
  if (courier.status !== 'available' || !courier.location) {
    throw problems.conflict(`Courier ${courier.id} is not available.`);
  }
  const expiresAtMs = offer.now.getTime() + offer.ttlMs;
  const created: StoredOffer = {
    offerId: offer.offerId,
    orderId: order.id,
    courierId: courier.id,
    pickup: order.pickup,
    dropoff: order.dropoff,
    distanceM: offer.distanceM,
    expiresAt: new Date(expiresAtMs).toISOString(),
    status: 'pending',
  };
  return {
    order: {
      before: order,
      after: move(order, 'offer', offer.now, { attempts: offer.attempt, offerId: offer.offerId, retryAtMs: null }),
    },
    offer: { before: null, after: created },
    courier: { before: courier, after: { ...courier, status: 'offered', offerId: offer.offerId } },
    deadlineAtMs: expiresAtMs,
  };
}

export type OfferAnswer = 'accept' | 'decline' | 'expire';

/**
 * The offered courier accepts or declines, or the offer's deadline passes.
 * Accepting or declining an offer past its expiry, or one already answered, is a conflict.
 */
export function answerOffer(
  order: StoredOrder,
  offer: StoredOffer,
  courier: CourierSlot,
  answer: OfferAnswer,
  now: Date,
): DispatchChange {
  if (offer.status !== 'pending') throw problems.conflict(`The offer was already ${offer.status}.`);
  const expired = now.getTime() >= Date.parse(offer.expiresAt);
  if (answer === 'expire' && !expired) throw problems.conflict('The offer has not expired yet.');
  if (answer !== 'expire' && expired) throw problems.conflict('The offer has expired.');
  if (order.offerId !== offer.offerId) throw problems.conflict('The offer is no longer live.');
  const holdsOffer = courier.id === offer.courierId && courier.offerId === offer.offerId;

  if (answer === 'accept') {
    // The courier's own record must agree that it holds this offer; otherwise it is not theirs to take.
    if (!holdsOffer) throw problems.conflict('The offer is no longer held by this courier.');
    const location = courier.location ?? order.pickup;
    const eta = orderEta(location, courier.vehicle, order.pickup, order.dropoff);
    return {
      order: { before: order, after: move(order, 'accept', now, { courierId: offer.courierId, offerId: null, eta }) },
      offer: { before: offer, after: { ...offer, status: 'accepted' } },
      ...(holdsOffer
        ? {
            courier: { before: courier, after: { ...courier, status: 'busy', offerId: null, activeOrderId: order.id } },
          }
        : {}),
      deadlineAtMs: null,
    };
  }
  return {
    order: {
      before: order,
      after: move(order, answer, now, { offerId: null, excluded: [...order.excluded, offer.courierId] }),
    },
    offer: { before: offer, after: { ...offer, status: answer === 'decline' ? 'declined' : 'expired' } },
    ...(holdsOffer ? { courier: { before: courier, after: releasedCourier(courier) } } : {}),
    deadlineAtMs: now.getTime() + DISPATCH_STALL_MS,
  };
}

export function pickUp(order: StoredOrder, now: Date): DispatchChange {
  return { order: { before: order, after: move(order, 'pickup', now) }, deadlineAtMs: null };
}

export function deliver(order: StoredOrder, courier: CourierSlot, now: Date): DispatchChange {
  return {
    order: { before: order, after: move(order, 'deliver', now) },
    ...(courier.activeOrderId === order.id ? { courier: { before: courier, after: releasedCourier(courier) } } : {}),
    deadlineAtMs: null,
  };
}

/**
 * Cancels the order; its live offer is revoked and its courier (offered or
 * assigned) is free again. `offer` and `courier` are the order's current ones, if any.
 */
export function cancel(
  order: StoredOrder,
  current: { offer: StoredOffer | null; courier: CourierSlot | null },
  now: Date,
): DispatchChange {
  const after = move(order, 'cancel', now, { offerId: null });
  const { offer, courier } = current;
  const liveOffer = offer && offer.status === 'pending' && order.offerId === offer.offerId ? offer : null;
  const engaged =
    courier &&
    ((liveOffer && courier.offerId === liveOffer.offerId) ||
      (courier.activeOrderId === order.id && order.courierId === courier.id));
  return {
    order: { before: order, after },
    ...(liveOffer ? { offer: { before: liveOffer, after: { ...liveOffer, status: 'revoked' as const } } } : {}),
    ...(engaged ? { courier: { before: courier, after: releasedCourier(courier) } } : {}),
    deadlineAtMs: null,
  };
}

export function giveUp(order: StoredOrder, attempts: number, now: Date): DispatchChange {
  return {
    order: { before: order, after: move(order, 'give_up', now, { attempts, retryAtMs: null }) },
    deadlineAtMs: null,
  };
}

/**
 * A search found no free courier: the attempt is spent, and the next one (at a
 * wider radius) waits `retryBaseMs`, doubled for each search that found nobody
 * before, so a fleet busy for a moment never makes an order `unassigned`.
 */
export function awaitCouriers(
  order: StoredOrder,
  attempt: number,
  timing: { retryBaseMs: number; emptySearches: number },
  now: Date,
): DispatchChange {
  const retryAtMs = now.getTime() + timing.retryBaseMs * 2 ** timing.emptySearches;
  const patch = { attempts: attempt, emptySearches: timing.emptySearches + 1, retryAtMs };
  // Already dispatching: the wait is bookkeeping, not a step of the order's life.
  const after =
    order.status === 'pending'
      ? move(order, 'await_couriers', now, patch)
      : { ...order, ...patch, updatedAt: order.updatedAt };
  return { order: { before: order, after }, deadlineAtMs: retryAtMs };
}

export function redispatch(order: StoredOrder, now: Date): DispatchChange {
  return {
    order: {
      before: order,
      after: move(order, 'redispatch', now, { attempts: 0, excluded: [], emptySearches: 0, retryAtMs: null }),
    },
    deadlineAtMs: now.getTime() + DISPATCH_STALL_MS,
  };
}

function releasedCourier(courier: CourierSlot): CourierSlot {
  return { ...courier, status: 'available', offerId: null, activeOrderId: null };
}

/** Statuses in which the assigned courier may send a proof-of-delivery photo (API.md "Proof of delivery"). */
export const PROOF_ALLOWED: readonly OrderStatus[] = ['picked_up', 'delivered'];

/** Throws the 409 problem unless the order is picked up or delivered. */
export function requireProofAllowed(order: StoredOrder): void {
  if (!PROOF_ALLOWED.includes(order.status)) {
    throw problems.conflict(`A proof photo is taken once the order is picked up; it is ${describe(order.status)}.`);
  }
}

/**
 * A proof photo was stored as `uploadId` (ids sort by time): its processing
 * begins, replacing any earlier photo. Null when the order has this upload or a
 * newer one already (its processing may finish before the upload is recorded).
 */
export function submitProof(order: StoredOrder, uploadId: string, now: Date): DispatchChange | null {
  requireProofAllowed(order);
  if (order.proofUploadId && order.proofUploadId >= uploadId) return null;
  const proof = { status: 'processing' as const, photoUrl: null, thumbnailUrl: null, error: null };
  return proofChange(order, { proof, proofUploadId: uploadId }, now);
}

/**
 * The photo `uploadId` was processed: ready, or failed with a reason. Null when
 * it no longer matters: a newer photo replaced it, or its outcome is recorded.
 */
export function settleProof(
  order: StoredOrder,
  uploadId: string,
  outcome: { status: 'ready' } | { status: 'failed'; error: string },
  now: Date,
): DispatchChange | null {
  const current = order.proofUploadId ?? null;
  if (current !== null && (current > uploadId || (current === uploadId && order.proof?.status !== 'processing'))) {
    return null;
  }
  const error = outcome.status === 'failed' ? outcome.error : null;
  const proof = { status: outcome.status, photoUrl: null, thumbnailUrl: null, error };
  return proofChange(order, { proof, proofUploadId: uploadId }, now);
}

function proofChange(
  order: StoredOrder,
  patch: Pick<StoredOrder, 'proof' | 'proofUploadId'>,
  now: Date,
): DispatchChange {
  return { order: { before: order, after: { ...order, ...patch, updatedAt: now.toISOString() } }, deadlineAtMs: null };
}
