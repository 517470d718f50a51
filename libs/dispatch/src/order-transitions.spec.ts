import { ProblemError } from '@mesh/problem';
import type { CourierSlot, StoredOffer, StoredOrder } from './dispatch-store.port';
import {
  DISPATCH_STALL_MS,
  answerOffer,
  awaitCouriers,
  cancel,
  deliver,
  makeOffer,
  newOrder,
} from './order-transitions';

const now = new Date('2026-11-22T12:00:00.000Z');
const later = (ms: number) => new Date(now.getTime() + ms);
const courier = (over: Partial<CourierSlot> = {}): CourierSlot => ({
  id: 'k1',
  status: 'available',
  offerId: null,
  activeOrderId: null,
  location: { lat: 52.521, lng: 13.405 },
  vehicle: 'bicycle',
  ...over,
});

function offered(): { order: StoredOrder; offer: StoredOffer; courier: CourierSlot } {
  const placed = {
    ...newOrder({
      id: 'o1',
      customerId: 'c1',
      place: { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.53, lng: 13.405 } },
      market: 'berlin',
      now,
    }).order.after,
    version: 1,
  };
  const change = makeOffer(placed, courier(), { offerId: 'f1', attempt: 1, distanceM: 111, ttlMs: 15_000, now });
  return { order: { ...change.order.after, version: 2 }, offer: change.offer.after, courier: change.courier!.after };
}

describe('order transitions', () => {
  it('leaves an order nobody could take waiting, each wait twice the last, the timeline stepping once', () => {
    const placed = {
      ...newOrder({
        id: 'o2',
        customerId: 'c1',
        place: { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.53, lng: 13.405 } },
        market: 'berlin',
        now,
      }).order.after,
      version: 1,
    };
    const first = awaitCouriers(placed, 1, { retryBaseMs: 5_000, emptySearches: 0 }, now);
    expect(first.order.after).toMatchObject({ status: 'dispatching', attempts: 1, emptySearches: 1 });
    expect(first.deadlineAtMs).toBe(later(5_000).getTime());
    const waiting = { ...first.order.after, version: 2 };
    const second = awaitCouriers(waiting, 2, { retryBaseMs: 5_000, emptySearches: 1 }, later(5_000));
    expect(second.order.after).toMatchObject({ status: 'dispatching', attempts: 2, emptySearches: 2 });
    expect(second.deadlineAtMs).toBe(later(15_000).getTime());
    expect(second.order.after.timeline.map((t) => t.status)).toEqual(['pending', 'dispatching']);
  });

  it('makes an offer: order offered through dispatching, courier claimed, deadline at expiry', () => {
    const { order, offer, courier: claimed } = offered();
    expect(order).toMatchObject({ status: 'offered', offerId: 'f1', attempts: 1 });
    expect(order.timeline.map((t) => t.status)).toEqual(['pending', 'dispatching', 'offered']);
    expect(offer).toMatchObject({ status: 'pending', courierId: 'k1', expiresAt: later(15_000).toISOString() });
    expect(claimed).toMatchObject({ status: 'offered', offerId: 'f1' });
  });

  it('refuses to offer to a courier who is not available or has no position', () => {
    const { order } = offered();
    const base = { ...order, status: 'dispatching' as const, offerId: null };
    const args = { offerId: 'f2', attempt: 2, distanceM: 1, ttlMs: 1, now };
    expect(() => makeOffer(base, courier({ status: 'busy' }), args)).toThrow(ProblemError);
    expect(() => makeOffer(base, courier({ location: null }), args)).toThrow(ProblemError);
  });

  it('accepts: assigned with an ETA, courier busy on the order, no deadline left', () => {
    const { order, offer, courier: k } = offered();
    const change = answerOffer(order, offer, k, 'accept', later(1_000));
    expect(change.order.after).toMatchObject({ status: 'assigned', courierId: 'k1', offerId: null });
    expect(change.order.after.eta!.pickupS).toBeGreaterThan(0);
    expect(change.courier!.after).toMatchObject({ status: 'busy', activeOrderId: 'o1', offerId: null });
    expect(change.deadlineAtMs).toBeNull();
  });

  it('declines or expires: the courier is free and excluded, dispatch looks again', () => {
    const { order, offer, courier: k } = offered();
    for (const [answer, at] of [
      ['decline', later(1_000)],
      ['expire', later(15_000)],
    ] as const) {
      const change = answerOffer(order, offer, k, answer, at);
      expect(change.order.after).toMatchObject({ status: 'dispatching', excluded: ['k1'], offerId: null });
      expect(change.offer!.after.status).toBe(answer === 'decline' ? 'declined' : 'expired');
      expect(change.courier!.after).toMatchObject({ status: 'available', offerId: null });
      expect(change.deadlineAtMs).toBe(at.getTime() + DISPATCH_STALL_MS);
    }
  });

  it('refuses late answers, early expiry and answers to an offer already answered with 409', () => {
    const { order, offer, courier: k } = offered();
    const status = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as ProblemError).status;
      }
      return 200;
    };
    expect(status(() => answerOffer(order, offer, k, 'accept', later(15_000)))).toBe(409);
    expect(status(() => answerOffer(order, offer, k, 'expire', later(14_999)))).toBe(409);
    expect(status(() => answerOffer(order, { ...offer, status: 'declined' }, k, 'accept', later(1)))).toBe(409);
    expect(status(() => answerOffer(order, offer, { ...k, offerId: 'another' }, 'accept', later(1)))).toBe(409);
  });

  it('cancels an offered order: the offer is revoked and the courier freed', () => {
    const { order, offer, courier: k } = offered();
    const change = cancel(order, { offer, courier: k }, later(500));
    expect(change.order.after.status).toBe('cancelled');
    expect(change.offer!.after.status).toBe('revoked');
    expect(change.courier!.after).toMatchObject({ status: 'available', offerId: null });
  });

  it('delivers: the courier is available again', () => {
    const { order, offer, courier: k } = offered();
    const assigned = answerOffer(order, offer, k, 'accept', later(1));
    const pickedUp = { ...assigned.order.after, status: 'picked_up' as const, version: 4 };
    const change = deliver(pickedUp, assigned.courier!.after, later(60_000));
    expect(change.order.after.status).toBe('delivered');
    expect(change.courier!.after).toMatchObject({ status: 'available', activeOrderId: null });
  });
});
