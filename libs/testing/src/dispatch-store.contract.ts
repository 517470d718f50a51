import { newId, type PlaceOrder } from '@mesh/contracts';
import {
  OrderFold,
  StateUnavailable,
  announced,
  answerOffer,
  makeOffer,
  newOrder,
  type DispatchStore,
  type StoredOrder,
} from '@mesh/dispatch';
import type { CourierGeoRepository } from '@mesh/geo';
import type { Outbox } from '@mesh/outbox';
import { uniqueName } from './eventually';

export interface DispatchStoreUnderTest {
  store: DispatchStore;
  /** The couriers the store shares state with (same Redis hash, or the same in-memory map). */
  couriers: CourierGeoRepository;
  /** The outbox its commits write events to. */
  outbox: Outbox;
  dispose(): Promise<void>;
}

/** The behaviour every DispatchStore adapter must have. Run against each adapter. */
export function dispatchStoreContract(adapter: string, create: () => Promise<DispatchStoreUnderTest>): void {
  describe(`DispatchStore contract: ${adapter}`, () => {
    let under: DispatchStoreUnderTest;
    let centre: { lat: number; lng: number };
    beforeEach(async () => {
      under = await create();
      await under.store.markBuilt({});
      centre = { lat: -60 + Math.random() * 120, lng: -170 + Math.random() * 340 };
    });
    afterEach(() => under.dispose());

    const place = (): PlaceOrder => ({ pickup: centre, dropoff: { lat: centre.lat + 0.01, lng: centre.lng } });
    const placed = async (customerId = uniqueName('cust'), extra: Partial<PlaceOrder> = {}): Promise<StoredOrder> => {
      const change = newOrder({ id: newId(), customerId, place: { ...place(), ...extra }, now: new Date() });
      const order = await under.store.commit(change);
      if (!order) throw new Error('a new order did not commit');
      return order;
    };
    const availableCourier = async (northM = 100): Promise<string> => {
      const id = uniqueName('courier');
      await under.couriers.setAvailability(id, true);
      await under.couriers.recordLocation(id, {
        lat: centre.lat + northM / 111_320,
        lng: centre.lng,
        at: new Date().toISOString(),
      });
      return id;
    };
    /** An offer of `order` to the courier, announced as dispatch announces it. */
    const offerChange = async (order: StoredOrder, courierId: string, ttlMs = 15_000) =>
      announced(
        makeOffer(order, await under.store.courier(courierId), {
          offerId: newId(),
          attempt: 1,
          distanceM: 100,
          ttlMs,
          now: new Date(),
        }),
        'order.offered',
        '/test',
      );
    const offerTo = async (order: StoredOrder, courierId: string, ttlMs = 15_000) => {
      const change = await offerChange(order, courierId, ttlMs);
      return { change, order: await under.store.commit(change) };
    };
    const nearbyAvailable = async () =>
      (await under.couriers.nearestAvailable({ ...centre, radiusM: 5_000, limit: 50 })).map((c) => c.id);

    it('writes a change’s event to the outbox with the change, and nothing for a change that did not commit', async () => {
      const order = await placed();
      const courierId = await availableCourier();
      const change = await offerChange(order, courierId);
      expect(await under.store.commit(change)).not.toBeNull();
      // The same change again is stale: refused, and no second event.
      expect(
        await under.store.commit({ ...change, event: announced(change, 'order.offered', '/test').event }),
      ).toBeNull();
      const entries = await under.outbox.read('', 100, 0);
      expect(entries.map((e) => ({ topic: e.topic, event: e.event }))).toEqual([
        { topic: 'orders', event: change.event },
      ]);
      expect(entries[0]?.event).toMatchObject({
        type: 'order.offered',
        partitionkey: order.id,
        data: { order: { id: order.id, status: 'offered', courierId: null }, offer: { courierId } },
      });
    });

    it('refuses every change while its state is not built (it came back empty), and takes them once it is', async () => {
      const fresh = await create();
      try {
        const change = newOrder({ id: newId(), customerId: 'cust-1', place: place(), now: new Date() });
        expect(await fresh.store.built()).toBeNull();
        await expect(fresh.store.commit(change)).rejects.toBeInstanceOf(StateUnavailable);
        expect(await fresh.store.order(change.order.after.id)).toBeNull();
        await fresh.store.markBuilt({ '0': '12', '3': '40' });
        expect(await fresh.store.built()).toEqual({ '0': '12', '3': '40' });
        expect(await fresh.store.commit(change)).toMatchObject({ version: 1 });
      } finally {
        await fresh.dispose();
      }
    });

    it('restores orders from their latest events: offer and courier engaged, owners indexed, never over a newer version', async () => {
      const order = await placed('cust-restore');
      const courierId = await availableCourier();
      const offer = await offerChange(order, courierId);
      const accept = announced(
        answerOffer(
          { ...offer.order.after, version: 2 },
          offer.offer.after,
          offer.courier!.after,
          'accept',
          new Date(),
        ),
        'order.assigned',
        '/test',
      );
      // As the rebuild sees the log: the latest event of the order, on a store that has only its first version.
      const fold = new OrderFold();
      for (const event of [offer.event, accept.event]) if (event) fold.add(event);
      expect(await under.store.restore(fold.restored(Date.now()))).toBe(1);

      const restored = await under.store.order(order.id);
      expect(restored).toMatchObject({ status: 'assigned', courierId, version: 3, offerId: null });
      await expect(under.store.courier(courierId)).resolves.toMatchObject({ status: 'busy', activeOrderId: order.id });
      await expect(under.store.offer(offer.offer.after.offerId)).resolves.toMatchObject({ status: 'accepted' });
      const mine = await under.store.list({ owner: { kind: 'courier', id: courierId }, limit: 10 });
      expect(mine.items.map((o) => o.id)).toEqual([order.id]);
      // Older news changes nothing.
      const stale = new OrderFold();
      if (offer.event) stale.add(offer.event);
      expect(await under.store.restore(stale.restored(Date.now()))).toBe(0);
      expect(await under.store.order(order.id)).toEqual(restored);
    });

    it('stores a new order once, at version 1; the same id cannot be created twice', async () => {
      const change = newOrder({ id: newId(), customerId: 'cust-1', place: place(), now: new Date() });
      const first = await under.store.commit(change);
      expect(first).toMatchObject({ id: change.order.after.id, status: 'pending', version: 1 });
      await expect(under.store.commit(change)).resolves.toBeNull();
      await expect(under.store.order(change.order.after.id)).resolves.toEqual(first);
    });

    it('claims an available courier for an offer: the courier leaves the available index, the offer is stored', async () => {
      const order = await placed();
      const courierId = await availableCourier();
      const { change, order: offered } = await offerTo(order, courierId);

      expect(offered).toMatchObject({ status: 'offered', offerId: change.offer.after.offerId, version: 2 });
      await expect(under.store.offer(change.offer.after.offerId)).resolves.toEqual(change.offer.after);
      await expect(under.store.courier(courierId)).resolves.toMatchObject({
        status: 'offered',
        offerId: change.offer.after.offerId,
      });
      expect(await nearbyAvailable()).not.toContain(courierId);
      expect((await under.couriers.get(courierId)).status).toBe('offered');
    });

    it('lets only one of two orders racing for the same courier win it', async () => {
      const [a, b] = await Promise.all([placed(), placed()]);
      const courierId = await availableCourier();
      const courier = await under.store.courier(courierId);
      const offer = (order: StoredOrder) =>
        makeOffer(order, courier, { offerId: newId(), attempt: 1, distanceM: 1, ttlMs: 15_000, now: new Date() });

      const results = await Promise.all([under.store.commit(offer(a)), under.store.commit(offer(b))]);

      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const winner = results.find((r) => r !== null)!;
      await expect(under.store.courier(courierId)).resolves.toMatchObject({ offerId: winner.offerId });
    });

    it('refuses a change built on an order version that is no longer current, and writes nothing of it', async () => {
      const order = await placed();
      const first = await availableCourier(100);
      const second = await availableCourier(200);
      await offerTo(order, first);

      const stale = await offerTo(order, second);

      expect(stale.order).toBeNull();
      await expect(under.store.courier(second)).resolves.toMatchObject({ status: 'available', offerId: null });
      await expect(under.store.offer(stale.change.offer.after.offerId)).resolves.toBeNull();
      expect(await nearbyAvailable()).toContain(second);
    });

    it('puts a courier who declines back in the available index, and an accepting one on the order', async () => {
      const decliner = await availableCourier(100);
      const accepter = await availableCourier(300);
      const order = await placed();
      const first = await offerTo(order, decliner);
      const declined = await under.store.commit(
        answerOffer(first.order!, first.change.offer.after, await under.store.courier(decliner), 'decline', new Date()),
      );
      expect(declined).toMatchObject({ status: 'dispatching', excluded: [decliner] });
      expect(await nearbyAvailable()).toContain(decliner);
      await expect(under.store.offer(first.change.offer.after.offerId)).resolves.toMatchObject({ status: 'declined' });

      const second = await offerTo(declined!, accepter);
      const assigned = await under.store.commit(
        answerOffer(
          second.order!,
          second.change.offer.after,
          await under.store.courier(accepter),
          'accept',
          new Date(),
        ),
      );
      expect(assigned).toMatchObject({ status: 'assigned', courierId: accepter });
      await expect(under.store.courier(accepter)).resolves.toMatchObject({
        status: 'busy',
        activeOrderId: order.id,
      });
      // The location path sees the active order, so the order's watchers get the courier's positions.
      await expect(
        under.couriers.recordLocation(accepter, { ...centre, at: new Date().toISOString() }),
      ).resolves.toEqual({ activeOrderId: order.id });
    });

    it('keeps deadlines: due ones are leased once, and come back when the lease runs out', async () => {
      const order = await placed();
      const { change } = await offerTo(order, await availableCourier(), 1_000);
      const expiresAt = Date.parse(change.offer.after.expiresAt);

      expect(await under.store.leaseDueDeadlines(expiresAt - 1, 100, 5_000)).not.toContain(order.id);
      expect(await under.store.leaseDueDeadlines(expiresAt, 100, 5_000)).toContain(order.id);
      expect(await under.store.leaseDueDeadlines(expiresAt + 10, 100, 5_000)).not.toContain(order.id);
      expect(await under.store.leaseDueDeadlines(expiresAt + 5_000, 100, 5_000)).toContain(order.id);

      // A sweeper that read an older version (or thought the order gone) moves nothing.
      const now = (await under.store.order(order.id))!;
      expect(await under.store.setDeadline(order.id, null, now.version - 1)).toBe(false);
      expect(await under.store.setDeadline(order.id, null, null)).toBe(false);
      expect(await under.store.leaseDueDeadlines(expiresAt + 20_000, 100, 5_000)).toContain(order.id);
      expect(await under.store.setDeadline(order.id, null, now.version)).toBe(true);
      expect(await under.store.leaseDueDeadlines(expiresAt + 60_000, 100, 5_000)).not.toContain(order.id);
    });

    it('lists an owner’s orders newest first, page by page, and filters by status', async () => {
      const customer = uniqueName('cust');
      const merchant = uniqueName('merchant');
      const mine: StoredOrder[] = [];
      for (let i = 0; i < 5; i++) mine.push(await placed(customer, i % 2 === 0 ? { merchantId: merchant } : {}));
      await placed();
      const newestFirst = mine.map((o) => o.id).reverse();

      const page1 = await under.store.list({ owner: { kind: 'customer', id: customer }, limit: 2 });
      const page2 = await under.store.list({
        owner: { kind: 'customer', id: customer },
        limit: 2,
        cursor: page1.nextCursor!,
      });
      const page3 = await under.store.list({
        owner: { kind: 'customer', id: customer },
        limit: 2,
        cursor: page2.nextCursor!,
      });
      expect([...page1.items, ...page2.items, ...page3.items].map((o) => o.id)).toEqual(newestFirst);
      expect(page3.nextCursor).toBeNull();

      const merchants = await under.store.list({ owner: { kind: 'merchant', id: merchant }, limit: 10 });
      expect(merchants.items.map((o) => o.id)).toEqual([mine[4]!.id, mine[2]!.id, mine[0]!.id]);

      await offerTo(mine[1]!, await availableCourier());
      const offered = await under.store.list({
        owner: { kind: 'customer', id: customer },
        status: 'offered',
        limit: 10,
      });
      expect(offered.items.map((o) => o.id)).toEqual([mine[1]!.id]);
    });

    it('binds an idempotency key to the first order only, per customer, until unbound', async () => {
      const key = uniqueName('key');
      const bind = (customer: string, orderId: string, fingerprint = 'f1') =>
        under.store.bindIdempotencyKey(customer, key, { orderId, fingerprint }, 60);
      await expect(bind('c1', 'order-1')).resolves.toEqual({ orderId: 'order-1', fingerprint: 'f1' });
      // A retry answers the first binding, whatever it came with (the caller compares fingerprints).
      await expect(bind('c1', 'order-2', 'f2')).resolves.toEqual({ orderId: 'order-1', fingerprint: 'f1' });
      await expect(bind('c2', 'order-3')).resolves.toEqual({ orderId: 'order-3', fingerprint: 'f1' });
      await under.store.unbindIdempotencyKey('c1', key, { orderId: 'order-2', fingerprint: 'f2' });
      await expect(bind('c1', 'order-4')).resolves.toMatchObject({ orderId: 'order-1' });
      await under.store.unbindIdempotencyKey('c1', key, { orderId: 'order-1', fingerprint: 'f1' });
      await expect(bind('c1', 'order-5')).resolves.toMatchObject({ orderId: 'order-5' });
    });
  });
}
