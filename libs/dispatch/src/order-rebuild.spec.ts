import { newEvent } from '@mesh/bus';
import type { OrderView } from '@mesh/contracts';
import type { CourierSlot } from './dispatch-store.port';
import { announced } from './order-events';
import { OrderFold, restoredOrder } from './order-rebuild';
import { awaitCouriers, makeOffer, newOrder } from './order-transitions';

const now = new Date('2026-11-30T12:00:00.000Z');
const courier: CourierSlot = {
  id: 'k1',
  status: 'available',
  offerId: null,
  activeOrderId: null,
  location: { lat: 52.52, lng: 13.4 },
  vehicle: 'bicycle',
};
/** Where a rebuild places an order whose events name no market (written before markets). */
const byPickup = (order: OrderView) => (order.pickup.lng > 13 ? 'berlin' : 'elsewhere');

const placed = () => ({
  ...newOrder({
    id: 'o1',
    customerId: 'c1',
    place: { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.53, lng: 13.405 } },
    market: 'berlin',
    now,
  }).order.after,
  version: 1,
});

describe('rebuilding an order from its events', () => {
  it('restores an open offer with its deadline at the offer’s expiry', () => {
    const change = announced(
      makeOffer(placed(), courier, { offerId: 'f1', attempt: 1, distanceM: 90, ttlMs: 15_000, now }),
      'order.offered',
      '/t',
    );
    const fold = new OrderFold();
    fold.add(change.event!);
    const [restored] = fold.restored(now.getTime() + 1_000, byPickup);
    expect(restored?.order).toMatchObject({ status: 'offered', offerId: 'f1', version: 2, market: 'berlin' });
    expect(restored?.offer).toMatchObject({ offerId: 'f1', status: 'pending', courierId: 'k1' });
    expect(restored?.deadlineAtMs).toBe(now.getTime() + 15_000);
  });

  it('keeps the latest version of each order whatever comes after, and wakes a waiting order when its wait ends', () => {
    const waiting = announced(
      awaitCouriers(placed(), 1, { retryBaseMs: 5_000, emptySearches: 0 }, now),
      'order.redispatched',
      '/t',
    );
    const created = newEvent(
      'order.created',
      { order: placed(), offer: null },
      { source: '/t', key: 'o1', subject: 'o1' },
    );
    const fold = new OrderFold();
    fold.add(waiting.event!);
    fold.add(created);
    fold.add(newEvent('order.deadline_reached', { orderId: 'o1' }, { source: '/t', key: 'o1' }));
    const [restored] = fold.restored(now.getTime(), byPickup);
    expect(restored?.order).toMatchObject({ status: 'dispatching', version: 2, emptySearches: 1 });
    expect(restored?.deadlineAtMs).toBe(now.getTime() + 5_000);
  });

  it('restores an event written before events carried the bookkeeping, as version 1, to be looked at at once', () => {
    const legacy = { order: { ...placed(), offerId: undefined } as unknown as OrderView, offer: null };
    const restored = restoredOrder(legacy, now.getTime(), byPickup);
    expect(restored.order).toMatchObject({
      status: 'pending',
      version: 1,
      excluded: [],
      offerId: null,
      market: 'berlin',
    });
    expect(restored.deadlineAtMs).toBe(now.getTime());
  });
});
