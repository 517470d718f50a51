import { newEvent, type MeshEvent } from '@mesh/bus';
import { DEFAULT_MARKET } from '@mesh/config';
import { newId, rooms, type LatLng } from '@mesh/contracts';
import { DispatchStore, newOrder, orderView, type StoredOrder } from '@mesh/dispatch';
import { CourierGeoRepository } from '@mesh/geo';
import { ClientPush } from '@mesh/realtime';
import { startMemoryPlatform, type MemoryPlatform } from '@mesh/harness';
import { DispatchFunction } from './dispatch.function';

const pickup = { lat: 52.52, lng: 13.405 };
const dropoff = { lat: 52.5, lng: 13.42 };
/** Metres per degree of latitude on turf's sphere. */
const METRES_PER_DEGREE = 111_195;
/** A point `metres` due north of the pickup. */
const north = (metres: number): LatLng => ({ lat: pickup.lat + metres / METRES_PER_DEGREE, lng: pickup.lng });

/** 2 s rather than the default 5, so a retry cannot pass for the 5 s stalled-dispatch deadline. */
const RETRY_MS = 2_000;

describe('DispatchFunction', () => {
  let platform: MemoryPlatform;
  let dispatch: DispatchFunction;
  let store: DispatchStore;
  let couriers: CourierGeoRepository;
  let pushed: jest.SpyInstance<ReturnType<ClientPush['emit']>, Parameters<ClientPush['emit']>>;
  beforeEach(async () => {
    platform = await startMemoryPlatform([DispatchFunction], { DISPATCH_RETRY_S: String(RETRY_MS / 1000) });
    dispatch = platform.get(DispatchFunction);
    store = platform.get(DispatchStore);
    couriers = platform.get(CourierGeoRepository);
    pushed = jest.spyOn(platform.get(ClientPush), 'emit');
  });
  afterEach(() => platform.close());

  /** The order.created a customer's order puts on the bus, as the function receives it. */
  function created(): MeshEvent<'order.created'> {
    const id = newId();
    const place = { pickup, dropoff };
    const { order } = newOrder({
      id,
      customerId: 'customer-1',
      place,
      market: DEFAULT_MARKET,
      now: platform.clock.now(),
    });
    const data = { order: orderView({ ...order.after, version: 1 }), offer: null };
    return newEvent('order.created', data, { source: '/gateway/orders', key: id, subject: id });
  }

  async function place(): Promise<string> {
    const event = created();
    await dispatch.handle(event);
    return event.partitionkey;
  }

  const order = async (id: string): Promise<StoredOrder> => (await store.order(id))!;

  /** What the deadline sweeper does (at the clock's time, unless its own runs ahead): due orders get their event. */
  async function sweep(atMs = platform.clock.nowMs()): Promise<string[]> {
    const due = await store.leaseDueDeadlines(DEFAULT_MARKET, atMs, 100, 5_000);
    for (const orderId of due) {
      await dispatch.handle(newEvent('order.deadline_reached', { orderId }, { source: '/test', key: orderId }));
    }
    return due;
  }

  const offersPushed = () => pushed.mock.calls.filter(([, event]) => event === 'offer.created');

  async function eventsOf(orderId: string): Promise<string[]> {
    return (await platform.published('orders')).filter((e) => e.subject === orderId).map((e) => e.type);
  }

  it('offers a new order to the nearest available courier and pushes offer.created to it', async () => {
    await platform.courierAt('far', north(1_500));
    await platform.courierAt('near', north(500));

    const id = await place();

    const offered = await order(id);
    const at = platform.clock.now().toISOString();
    expect(offered).toMatchObject({ status: 'offered', attempts: 1, courierId: null });
    expect(offered.timeline).toEqual([
      { status: 'pending', at },
      { status: 'dispatching', at },
      { status: 'offered', at },
    ]);
    const offer = (await store.offer(offered.offerId!))!;
    expect(offer).toMatchObject({ orderId: id, courierId: 'near', status: 'pending' });
    expect(offer.distanceM).toBeCloseTo(500, -1);
    expect(offer.expiresAt).toBe(new Date(platform.clock.nowMs() + platform.config.dispatch.offerTtlMs).toISOString());
    expect(offersPushed()).toEqual([
      [
        rooms.courier('near'),
        'offer.created',
        {
          offerId: offer.offerId,
          orderId: id,
          pickup,
          dropoff,
          distanceM: offer.distanceM,
          expiresAt: offer.expiresAt,
        },
      ],
    ]);
    expect((await couriers.get('near')).status).toBe('offered');
    expect((await couriers.get('far')).status).toBe('available');
    expect(await eventsOf(id)).toEqual(['order.offered']);
  });

  it('passes over a courier whose last fix is older than COURIER_STALE_AFTER_S, however near', async () => {
    await platform.courierAt('silent', north(200));
    platform.clock.advance(platform.config.dispatch.staleAfterMs + 1);
    await platform.courierAt('reporting', north(900));

    const id = await place();

    expect((await store.offer((await order(id)).offerId!))?.courierId).toBe('reporting');
    expect(offersPushed().map(([room]) => room)).toEqual([rooms.courier('reporting')]);
  });

  it('leaves an order with nobody within reach waiting, and searches again once its retry time has come', async () => {
    await platform.courierAt('out-of-reach', north(12_000));
    const event = created();
    await dispatch.handle(event);
    const id = event.partitionkey;
    const placedAtMs = platform.clock.nowMs();

    expect(await order(id)).toMatchObject({ status: 'dispatching', attempts: 1, retryAtMs: placedAtMs + RETRY_MS });
    await platform.courierAt('newcomer', north(800));
    // Redelivered before its retry time, the order spends no attempt, courier or not.
    platform.clock.advance(RETRY_MS - 1);
    await dispatch.handle(event);
    expect(await sweep()).toEqual([]);
    expect(await order(id)).toMatchObject({ status: 'dispatching', attempts: 1 });
    expect(offersPushed()).toEqual([]);

    platform.clock.advance(1);
    expect(await sweep()).toEqual([id]);

    const offered = await order(id);
    expect(offered).toMatchObject({ status: 'offered', attempts: 2, retryAtMs: null });
    expect((await store.offer(offered.offerId!))?.courierId).toBe('newcomer');
    expect(offersPushed().map(([room]) => room)).toEqual([rooms.courier('newcomer')]);
    expect(await eventsOf(id)).toEqual(['order.offered']);
  });

  it('doubles the wait after each search that finds nobody, and gives the order up once its attempts are spent', async () => {
    const id = await place();

    const waits: number[] = [];
    for (let waiting = await order(id); waiting.status === 'dispatching'; waiting = await order(id)) {
      waits.push(waiting.retryAtMs! - platform.clock.nowMs());
      platform.clock.set(waiting.retryAtMs!);
      expect(await sweep()).toEqual([id]);
    }

    expect(waits).toEqual([RETRY_MS, 2 * RETRY_MS, 4 * RETRY_MS, 8 * RETRY_MS]);
    const unassigned = await order(id);
    expect(unassigned).toMatchObject({ status: 'unassigned', attempts: 5 });
    expect(unassigned.timeline.map((step) => step.status)).toEqual(['pending', 'dispatching', 'unassigned']);
    expect(unassigned.timeline.at(-1)?.at).toBe(platform.clock.now().toISOString());
    expect(await eventsOf(id)).toEqual(['order.unassigned']);
    platform.clock.advance(3_600_000);
    expect(await sweep()).toEqual([]);
  });

  it('expires an offer whose deadline comes once the clock has reached expiresAt, and offers the next courier', async () => {
    await platform.courierAt('near', north(500));
    await platform.courierAt('next', north(1_500));
    const id = await place();
    const first = (await store.offer((await order(id)).offerId!))!;

    const expiresAtMs = Date.parse(first.expiresAt);
    platform.clock.set(expiresAtMs - 1);
    expect(await sweep()).toEqual([]);
    // A sweeper whose clock runs ahead calls early: the offer stands, its deadline put back at expiresAt.
    expect(await sweep(expiresAtMs + 50)).toEqual([id]);
    expect(await order(id)).toMatchObject({ status: 'offered', offerId: first.offerId });
    expect(offersPushed()).toHaveLength(1);

    platform.clock.set(first.expiresAt);
    expect(await sweep()).toEqual([id]);

    const reoffered = await order(id);
    expect(reoffered).toMatchObject({ status: 'offered', attempts: 2, excluded: ['near'] });
    expect((await store.offer(first.offerId))?.status).toBe('expired');
    const second = (await store.offer(reoffered.offerId!))!;
    expect(second).toMatchObject({ courierId: 'next', status: 'pending' });
    expect(second.expiresAt).toBe(new Date(platform.clock.nowMs() + platform.config.dispatch.offerTtlMs).toISOString());
    expect(offersPushed()).toEqual([
      [rooms.courier('near'), 'offer.created', expect.objectContaining({ offerId: first.offerId })],
      [
        rooms.courier('next'),
        'offer.created',
        {
          offerId: second.offerId,
          orderId: id,
          pickup,
          dropoff,
          distanceM: second.distanceM,
          expiresAt: second.expiresAt,
        },
      ],
    ]);
    expect((await couriers.get('near')).status).toBe('available');
    expect(await eventsOf(id)).toEqual(['order.offered', 'order.offer_expired', 'order.offered']);
  });
});
