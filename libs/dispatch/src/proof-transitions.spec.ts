import { ProblemError } from '@mesh/problem';
import type { StoredOrder } from './dispatch-store.port';
import { restoredOrder } from './order-rebuild';
import { announced } from './order-events';
import { newOrder, settleProof, submitProof } from './order-transitions';

const now = new Date('2026-11-22T12:00:00.000Z');
const [u1, u2] = ['01KB0000000000000000000001', '01KB0000000000000000000002'];

function order(status: StoredOrder['status'], over: Partial<StoredOrder> = {}): StoredOrder {
  const placed = newOrder({
    id: 'o1',
    customerId: 'c1',
    place: { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.53, lng: 13.405 } },
    market: 'berlin',
    now,
  }).order.after;
  return { ...placed, status, courierId: 'k1', version: 4, ...over };
}

/** Applies a change as the store would (the version moves on). */
const committed = (change: { order: { after: StoredOrder } } | null): StoredOrder => {
  if (!change) throw new Error('no change');
  return { ...change.order.after, version: change.order.after.version + 1 };
};

describe('proof of delivery transitions', () => {
  it('takes a photo once the order is picked up or delivered, and not before', () => {
    for (const status of ['picked_up', 'delivered'] as const) {
      const after = committed(submitProof(order(status), u1, now));
      expect(after.proof).toEqual({ status: 'processing', photoUrl: null, thumbnailUrl: null, error: null });
      expect(after.proofUploadId).toBe(u1);
      expect(after.status).toBe(status);
      expect(after.timeline).toEqual(order(status).timeline);
    }
    for (const status of ['pending', 'offered', 'assigned', 'cancelled'] as const) {
      expect(() => submitProof(order(status), u1, now)).toThrow(ProblemError);
    }
  });

  it('settles the photo being processed; a newer photo replaces an older one, whatever order they finish in', () => {
    const first = committed(submitProof(order('delivered'), u1, now));
    const second = committed(submitProof(first, u2, now));
    // The first photo finishes after the second was uploaded: it no longer matters.
    expect(settleProof(second, u1, { status: 'ready' }, now)).toBeNull();
    const ready = committed(settleProof(second, u2, { status: 'ready' }, now));
    expect(ready.proof?.status).toBe('ready');
    // Told twice (a retried event): nothing more to do.
    expect(settleProof(ready, u2, { status: 'failed', error: 'late' }, now)).toBeNull();
    // A photo uploaded before this one was recorded is not taken over the newer one.
    expect(submitProof(ready, u1, now)).toBeNull();
  });

  it('records a photo processed before its upload was recorded, and the upload then changes nothing', () => {
    const delivered = order('delivered');
    const ready = committed(settleProof(delivered, u1, { status: 'ready' }, now));
    expect(ready.proof?.status).toBe('ready');
    expect(submitProof(ready, u1, now)).toBeNull();
    const failed = committed(settleProof(delivered, u1, { status: 'failed', error: 'unreadable' }, now));
    expect(failed.proof).toEqual({ status: 'failed', photoUrl: null, thumbnailUrl: null, error: 'unreadable' });
  });

  it('is restored from its event with the upload it names', () => {
    const change = submitProof(order('delivered'), u1, now);
    if (!change) throw new Error('no change');
    const event = announced(change, 'order.proof_uploaded', '/test').event;
    if (!event) throw new Error('no event');
    const { order: restored } = restoredOrder(event.data, now.getTime(), () => 'elsewhere');
    expect(restored.proof?.status).toBe('processing');
    expect(restored.proofUploadId).toBe(u1);
  });
});
