import { newId, type PlaceOrder } from '@mesh/contracts';
import {
  OrderFold,
  StateUnavailable,
  readBuilt,
  announced,
  answerOffer,
  makeOffer,
  newOrder,
  type DispatchStore,
  type StoredOrder,
} from '@mesh/dispatch';
import type { CourierGeoRepository, Markets } from '@mesh/geo';
import type { Outbox } from '@mesh/outbox';
import { marketTag } from '@mesh/redis';
import { uniqueName } from '@mesh/harness';

export interface DispatchStoreUnderTest {
  store: DispatchStore;
  /** The couriers the store shares state with (same Redis hash, or the same in-memory map). */
  couriers: CourierGeoRepository;
  /** The outbox its commits write events to. */
  outbox: Outbox;
  /** The markets it keeps (the test markets: west and east of the prime meridian). */
  markets: Markets;
  dispose(): Promise<void>;
}

/** The behaviour every DispatchStore adapter must have. Run against each adapter. */
export function dispatchStoreContract(adapter: string, create: () => Promise<DispatchStoreUnderTest>): void {
  describe(`DispatchStore contract: ${adapter}`, () => {
    let under: DispatchStoreUnderTest;
    let centre: { lat: number; lng: number };
    /** The market of `centre`. */
    let market: string;
    beforeEach(async () => {
      under = await create();
      for (const name of under.markets.names) {
        await under.store.markBuilt(name, {}, await under.store.incarnation(name));
      }
      // Away from the border at the prime meridian, on either side.
      const side = Math.random() < 0.5 ? -1 : 1;
      centre = { lat: -60 + Math.random() * 120, lng: side * (1 + Math.random() * 170) };
      market = under.markets.of(centre)!;
    });
    afterEach(() => under.dispose());

    const place = (): PlaceOrder => ({ pickup: centre, dropoff: { lat: centre.lat + 0.01, lng: centre.lng } });
    const newOrderAt = (customerId: string, at: PlaceOrder) =>
      newOrder({ id: newId(), customerId, place: at, market: under.markets.of(at.pickup)!, now: new Date() });
    const placed = async (customerId = uniqueName('cust'), extra: Partial<PlaceOrder> = {}): Promise<StoredOrder> => {
      const order = await under.store.commit(newOrderAt(customerId, { ...place(), ...extra }));
      if (!order) throw new Error('a new order did not commit');
      return order;
    };
    const courierAt = async (position: { lat: number; lng: number }): Promise<string> => {
      const id = uniqueName('courier');
      await under.couriers.setAvailability(id, true);
      await under.couriers.recordLocation(id, { ...position, at: new Date().toISOString() });
      return id;
    };
    const availableCourier = (northM = 100): Promise<string> =>
      courierAt({ lat: centre.lat + northM / 111_320, lng: centre.lng });
    const slot = (courierId: string, where = market) => under.store.courier(courierId, where);
    /** An offer of `order` to the courier, announced as dispatch announces it. */
    const offerChange = async (order: StoredOrder, courierId: string, ttlMs = 15_000) =>
      announced(
        makeOffer(order, await slot(courierId, order.market), {
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
    const nearbyAvailable = async (where = market) =>
      (await under.couriers.nearestAvailable({ ...centre, market: where, radiusM: 5_000, limit: 50 })).map((c) => c.id);

    it('writes a change’s event to the outbox with the change, and nothing for a change that did not commit', async () => {
      const order = await placed();
      const courierId = await availableCourier();
      const change = await offerChange(order, courierId);
      expect(await under.store.commit(change)).not.toBeNull();
      // The same change again is stale: refused, and no second event.
      expect(
        await under.store.commit({ ...change, event: announced(change, 'order.offered', '/test').event }),
      ).toBeNull();
      const entries = await under.outbox.read(marketTag(market), '', 100, 0);
      expect(entries.map((e) => ({ topic: e.topic, event: e.event }))).toEqual([
        { topic: 'orders', event: change.event },
      ]);
      expect(entries[0]?.event).toMatchObject({
        type: 'order.offered',
        partitionkey: order.id,
        data: { order: { id: order.id, status: 'offered', courierId: null }, offer: { courierId } },
      });
    });

    it('refuses every change in a market while its state is not built (it came back empty), and takes them once it is', async () => {
      const fresh = await create();
      const other = fresh.markets.names.find((name) => name !== market)!;
      try {
        await fresh.store.markBuilt(other, { '0': '3' }, await fresh.store.incarnation(other));
        const change = newOrderAt('cust-1', place());
        expect(await fresh.store.built(market)).toBeNull();
        await expect(fresh.store.commit(change)).rejects.toBeInstanceOf(StateUnavailable);
        expect(await fresh.store.order(change.order.after.id)).toBeNull();
        // The other market, built, takes its changes meanwhile.
        const elsewhere = { lat: centre.lat, lng: -centre.lng };
        expect(await fresh.store.commit(newOrderAt('cust-1', { pickup: elsewhere, dropoff: elsewhere }))).toMatchObject(
          {
            version: 1,
            market: other,
          },
        );
        await fresh.store.markBuilt(market, { '0': '12', '3': '40' }, await fresh.store.incarnation(market));
        expect(await fresh.store.built(market)).toEqual({ '0': '12', '3': '40' });
        expect(await fresh.store.built(other)).toEqual({ '0': '3' });
        expect(await fresh.store.commit(change)).toMatchObject({ version: 1, market });
      } finally {
        await fresh.dispose();
      }
    });

    it('reads what may be missing: unavailable while a market is unbuilt, absent once built, and found when its rebuild ends between the read and the look', async () => {
      const fresh = await create();
      try {
        const change = newOrderAt('cust-1', place());
        const read = () => fresh.store.order(change.order.after.id);
        await expect(readBuilt(fresh.store, fresh.markets, read)).rejects.toBeInstanceOf(StateUnavailable);
        // The rebuild restores the order and marks its market built just after the first read found nothing.
        let reads = 0;
        const racing = async () => {
          const found = await read();
          if (reads++ === 0) {
            for (const name of fresh.markets.names) {
              await fresh.store.markBuilt(name, {}, await fresh.store.incarnation(name));
            }
            await fresh.store.commit(change);
          }
          return found;
        };
        expect(await readBuilt(fresh.store, fresh.markets, racing)).toMatchObject({ id: change.order.after.id });
        expect(await readBuilt(fresh.store, fresh.markets, () => fresh.store.order('no-such-order'))).toBeNull();
      } finally {
        await fresh.dispose();
      }
    });

    it('refuses every change in a market verified on another server (restarted, or a replica promoted) until verified again', async () => {
      await under.store.markBuilt(market, { '0': '5' }, 'a-server-that-is-gone');
      const change = newOrderAt('cust-1', place());
      await expect(under.store.commit(change)).rejects.toBeInstanceOf(StateUnavailable);
      // Built (the rebuilder replays from its positions) but not verified: an order not found may only be missing.
      expect(await under.store.built(market)).toEqual({ '0': '5' });
      expect(await under.store.verified(market)).toBe(false);
      const read = () => under.store.order(change.order.after.id);
      await expect(readBuilt(under.store, under.markets, read)).rejects.toBeInstanceOf(StateUnavailable);
      await under.store.markBuilt(market, { '0': '5' }, await under.store.incarnation(market));
      expect(await under.store.verified(market)).toBe(true);
      await expect(readBuilt(under.store, under.markets, read)).resolves.toBeNull();
      expect(await under.store.commit(change)).toMatchObject({ version: 1 });
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
      const marketOf = () => 'nowhere'; // every event names its market
      expect(await under.store.restore(fold.restored(Date.now(), marketOf))).toBe(1);

      const restored = await under.store.order(order.id);
      expect(restored).toMatchObject({ status: 'assigned', courierId, version: 3, offerId: null });
      await expect(slot(courierId)).resolves.toMatchObject({ status: 'busy', activeOrderId: order.id });
      await expect(under.store.offer(offer.offer.after.offerId)).resolves.toMatchObject({ status: 'accepted' });
      const mine = await under.store.list({ owner: { kind: 'courier', id: courierId }, limit: 10 });
      expect(mine.items.map((o) => o.id)).toEqual([order.id]);
      // Older news changes nothing.
      const stale = new OrderFold();
      if (offer.event) stale.add(offer.event);
      expect(await under.store.restore(stale.restored(Date.now(), marketOf))).toBe(0);
      expect(await under.store.order(order.id)).toEqual(restored);
    });

    it('restores an order with no offer and no courier (pending, as a replica promoted without it would lack it)', async () => {
      const created = announced(newOrderAt('cust-restore', place()), 'order.created', '/test');
      const fold = new OrderFold();
      if (created.event) fold.add(created.event);
      expect(await under.store.restore(fold.restored(Date.now(), () => market))).toBe(1);
      expect(await under.store.order(created.order.after.id)).toMatchObject({ status: 'pending', version: 1, market });
      const theirs = await under.store.list({ owner: { kind: 'customer', id: 'cust-restore' }, limit: 10 });
      expect(theirs.items.map((o) => o.id)).toEqual([created.order.after.id]);
    });

    it('stores a new order once, at version 1; the same id cannot be created twice', async () => {
      const change = newOrderAt('cust-1', place());
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
      await expect(slot(courierId)).resolves.toMatchObject({
        status: 'offered',
        offerId: change.offer.after.offerId,
      });
      expect(await nearbyAvailable()).not.toContain(courierId);
      expect((await under.couriers.get(courierId)).status).toBe('offered');
    });

    it('lets only one of two orders racing for the same courier win it', async () => {
      const [a, b] = await Promise.all([placed(), placed()]);
      const courierId = await availableCourier();
      const courier = await slot(courierId);
      const offer = (order: StoredOrder) =>
        makeOffer(order, courier, { offerId: newId(), attempt: 1, distanceM: 1, ttlMs: 15_000, now: new Date() });

      const results = await Promise.all([under.store.commit(offer(a)), under.store.commit(offer(b))]);

      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const winner = results.find((r) => r !== null)!;
      await expect(slot(courierId)).resolves.toMatchObject({ offerId: winner.offerId });
    });

    it('refuses a change built on an order version that is no longer current, and writes nothing of it', async () => {
      const order = await placed();
      const first = await availableCourier(100);
      const second = await availableCourier(200);
      await offerTo(order, first);

      const stale = await offerTo(order, second);

      expect(stale.order).toBeNull();
      await expect(slot(second)).resolves.toMatchObject({ status: 'available', offerId: null });
      await expect(under.store.offer(stale.change.offer.after.offerId)).resolves.toBeNull();
      expect(await nearbyAvailable()).toContain(second);
    });

    it('puts a courier who declines back in the available index, and an accepting one on the order', async () => {
      const decliner = await availableCourier(100);
      const accepter = await availableCourier(300);
      const order = await placed();
      const first = await offerTo(order, decliner);
      const declined = await under.store.commit(
        answerOffer(first.order!, first.change.offer.after, await slot(decliner), 'decline', new Date()),
      );
      expect(declined).toMatchObject({ status: 'dispatching', excluded: [decliner] });
      expect(await nearbyAvailable()).toContain(decliner);
      await expect(under.store.offer(first.change.offer.after.offerId)).resolves.toMatchObject({ status: 'declined' });

      const second = await offerTo(declined!, accepter);
      const assigned = await under.store.commit(
        answerOffer(second.order!, second.change.offer.after, await slot(accepter), 'accept', new Date()),
      );
      expect(assigned).toMatchObject({ status: 'assigned', courierId: accepter });
      await expect(slot(accepter)).resolves.toMatchObject({
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

      expect(await under.store.leaseDueDeadlines(market, expiresAt - 1, 100, 5_000)).not.toContain(order.id);
      expect(await under.store.leaseDueDeadlines(market, expiresAt, 100, 5_000)).toContain(order.id);
      expect(await under.store.leaseDueDeadlines(market, expiresAt + 10, 100, 5_000)).not.toContain(order.id);
      expect(await under.store.leaseDueDeadlines(market, expiresAt + 5_000, 100, 5_000)).toContain(order.id);

      // A sweeper that read an older version (or thought the order gone) moves nothing.
      const now = (await under.store.order(order.id))!;
      expect(await under.store.setDeadline(order.id, null, now.version - 1)).toBe(false);
      expect(await under.store.setDeadline(order.id, null, null)).toBe(false);
      expect(await under.store.leaseDueDeadlines(market, expiresAt + 20_000, 100, 5_000)).toContain(order.id);
      expect(await under.store.setDeadline(order.id, null, now.version)).toBe(true);
      expect(await under.store.leaseDueDeadlines(market, expiresAt + 60_000, 100, 5_000)).not.toContain(order.id);
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

    describe('markets', () => {
      // Two spots about 450 m apart across the border between west and east.
      const lat = () => -60 + Math.random() * 120;
      const across = () => {
        const at = lat();
        return { west: { lat: at, lng: -0.002 }, east: { lat: at, lng: 0.002 } };
      };

      it('offers an order only to couriers of its own market, however near the others are', async () => {
        const { west, east } = across();
        const courierId = await courierAt(east);
        const order = await under.store.commit(newOrderAt(uniqueName('cust'), { pickup: west, dropoff: west }));
        expect(order).toMatchObject({ market: 'west' });
        const search = { ...west, radiusM: 5_000, limit: 10 };
        expect((await under.couriers.nearestAvailable({ ...search, market: 'west' })).map((c) => c.id)).toEqual([]);
        expect((await under.couriers.nearestAvailable({ ...search, market: 'east' })).map((c) => c.id)).toEqual([
          courierId,
        ]);
        // To west's dispatch the courier is not there; an offer built on what east sees does not commit.
        await expect(slot(courierId, 'west')).resolves.toMatchObject({ status: 'offline' });
        const forged = makeOffer(order!, await slot(courierId, 'east'), {
          offerId: newId(),
          attempt: 1,
          distanceM: 450,
          ttlMs: 15_000,
          now: new Date(),
        });
        await expect(under.store.commit(forged)).resolves.toBeNull();
        await expect(slot(courierId, 'east')).resolves.toMatchObject({ status: 'available', offerId: null });
        await expect(under.store.offer(forged.offer.after.offerId)).resolves.toBeNull();
      });

      it('lists an owner’s orders across markets newest first, and leases deadlines per market', async () => {
        const { west, east } = across();
        const customer = uniqueName('cust');
        const mine: StoredOrder[] = [];
        for (let i = 0; i < 5; i++) {
          const at = i % 2 === 0 ? west : east;
          mine.push((await under.store.commit(newOrderAt(customer, { pickup: at, dropoff: at })))!);
        }
        expect(mine.map((o) => o.market)).toEqual(['west', 'east', 'west', 'east', 'west']);
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await under.store.list({ owner: { kind: 'customer', id: customer }, limit: 2, cursor });
          ids.push(...page.items.map((o) => o.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(ids).toEqual(mine.map((o) => o.id).reverse());
        await expect(under.store.order(mine[1]!.id)).resolves.toMatchObject({ id: mine[1]!.id, market: 'east' });

        const later = Date.now() + 60_000;
        const westDue = await under.store.leaseDueDeadlines('west', later, 100, 5_000);
        const eastDue = await under.store.leaseDueDeadlines('east', later, 100, 5_000);
        expect(westDue.filter((id) => ids.includes(id)).sort()).toEqual([mine[0]!.id, mine[2]!.id, mine[4]!.id].sort());
        expect(eastDue.filter((id) => ids.includes(id)).sort()).toEqual([mine[1]!.id, mine[3]!.id].sort());
      });

      it('moves a courier to the market of its new position, but not while it holds an offer', async () => {
        const { west, east } = across();
        const rider = await courierAt(west);
        await under.couriers.recordLocation(rider, { ...east, at: new Date().toISOString() });
        const search = { ...east, radiusM: 5_000, limit: 10 };
        expect((await under.couriers.nearestAvailable({ ...search, market: 'east' })).map((c) => c.id)).toEqual([
          rider,
        ]);
        expect((await under.couriers.nearestAvailable({ ...search, market: 'west' })).map((c) => c.id)).toEqual([]);
        await expect(slot(rider, 'west')).resolves.toMatchObject({ status: 'offline' });
        await expect(under.couriers.get(rider)).resolves.toMatchObject({ status: 'available', location: east });

        const order = await under.store.commit(newOrderAt(uniqueName('cust'), { pickup: east, dropoff: east }));
        const offer = makeOffer(order!, await slot(rider, 'east'), {
          offerId: newId(),
          attempt: 1,
          distanceM: 1,
          ttlMs: 15_000,
          now: new Date(),
        });
        expect(await under.store.commit(offer)).toMatchObject({ status: 'offered' });
        // Riding back west while offered: it stays east's until the offer is answered.
        await under.couriers.recordLocation(rider, { ...west, at: new Date(Date.now() + 1_000).toISOString() });
        await expect(slot(rider, 'east')).resolves.toMatchObject({ status: 'offered', location: west });
        await expect(under.couriers.get(rider)).resolves.toMatchObject({ status: 'offered', location: west });
        // Declined, it is free again, and its next position takes it west.
        const declined = answerOffer(
          { ...order!, ...offer.order.after, version: 2 },
          offer.offer.after,
          await slot(rider, 'east'),
          'decline',
          new Date(),
        );
        expect(await under.store.commit(declined)).not.toBeNull();
        await under.couriers.recordLocation(rider, { ...west, at: new Date(Date.now() + 2_000).toISOString() });
        const nearWest = { ...west, radiusM: 5_000, limit: 10 };
        expect((await under.couriers.nearestAvailable({ ...nearWest, market: 'west' })).map((c) => c.id)).toEqual([
          rider,
        ]);
        await expect(slot(rider, 'east')).resolves.toMatchObject({ status: 'offline' });
      });
    });
  });
}
