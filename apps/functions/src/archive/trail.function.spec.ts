import { MemoryRouteArchive } from '@mesh/archive';
import { DependencyUnavailable, MemoryEventBus, newEvent, type MeshEvent, type Subscription } from '@mesh/bus';
import { functionGroup, type OrderChangeType, type OrderView } from '@mesh/contracts';
import type { CourierGeoRepository } from '@mesh/geo';
import { eventually } from '@mesh/harness';
import { ArchiveFunction } from './archive.function';
import { ArchiveWatermark } from './archive-watermark';
import { TrailFunction } from './trail.function';

const placedAt = Date.now() - 10_000;
const order: OrderView = {
  id: 'order-1',
  status: 'assigned',
  customerId: 'customer-1',
  merchantId: null,
  courierId: 'courier-1',
  pickup: { lat: 52.52, lng: 13.4 },
  dropoff: { lat: 52.5, lng: 13.42 },
  items: [],
  note: null,
  attempts: 1,
  eta: null,
  createdAt: new Date(placedAt).toISOString(),
  updatedAt: new Date(placedAt + 1_000).toISOString(),
  timeline: [
    { status: 'pending', at: new Date(placedAt).toISOString() },
    { status: 'assigned', at: new Date(placedAt + 1_000).toISOString() },
  ],
  proof: null,
};

/** The live state as the location function keeps it: courier-1 is on order-1, courier-2 is idle. */
const live = {
  get: (id: string) => Promise.resolve({ id, activeOrderId: id === 'courier-1' ? 'order-1' : null }),
} as unknown as CourierGeoRepository;

const fixOf = (courierId: string, at: number) =>
  newEvent(
    'courier.location.reported',
    { courierId, lat: 52.51, lng: 13.41, at: new Date(at).toISOString() },
    {
      source: '/test',
      key: courierId,
    },
  );

/** The order as a later event carries it: delivered, 4 s after its assignment. */
const delivered: OrderView = {
  ...order,
  status: 'delivered',
  updatedAt: new Date(placedAt + 5_000).toISOString(),
  timeline: [...order.timeline, { status: 'delivered', at: new Date(placedAt + 5_000).toISOString() }],
};

const orderEvent = (type: OrderChangeType, view: OrderView) =>
  newEvent(type, { order: view, offer: null }, { source: '/test', key: view.id, time: new Date(view.updatedAt) });

describe('the trail function', () => {
  let bus: MemoryEventBus;
  let archive: MemoryRouteArchive;
  let subscriptions: Subscription[];
  beforeEach(() => {
    bus = new MemoryEventBus();
    archive = new MemoryRouteArchive();
    subscriptions = [];
  });
  afterEach(async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    await bus.close();
  });
  const trailOf = (couriers: CourierGeoRepository = live) =>
    new TrailFunction(archive, couriers, new ArchiveWatermark(bus));
  /** The archive function, consuming the order log as its group. */
  const archiving = async () => {
    const fn = new ArchiveFunction(archive);
    subscriptions.push(
      await bus.subscribe({
        group: functionGroup('archive'),
        topic: 'orders',
        handle: (event) => fn.handle(event as MeshEvent<OrderChangeType>),
      }),
    );
  };

  it('keeps a position that came before the archive knew its courier’s order, once the order is archived', async () => {
    const trail = trailOf();
    const handled = trail.handle(fixOf('courier-1', placedAt + 2_000));
    // The order's assignment reaches the archive while the position waits for it.
    await archive.recordOrderEvents([{ eventId: 'e1', type: 'order.assigned', at: order.updatedAt, order }]);
    await handled;
    expect((await archive.trail('courier-1', placedAt, Date.now())).map((p) => p.orderId)).toEqual(['order-1']);
  });

  it('hands the event back to wait when the archive has still not seen the order', async () => {
    await expect(trailOf().handle(fixOf('courier-1', placedAt + 2_000) as never)).rejects.toBeInstanceOf(
      DependencyUnavailable,
    );
  });

  it('judges a position only once the archive has the order log: an order assigned and delivered meanwhile keeps it', async () => {
    // Both events are on the bus before the position comes, but not archived yet; the live state
    // already has the courier free again, as after the delivery.
    await bus.publish('orders', orderEvent('order.assigned', order));
    await bus.publish('orders', orderEvent('order.delivered', delivered));
    const idle = {
      get: (id: string) => Promise.resolve({ id, activeOrderId: null }),
    } as unknown as CourierGeoRepository;
    const looks = jest.spyOn(bus, 'committedPositions');
    let judged = false;
    const handled = trailOf(idle)
      .handle(fixOf('courier-1', placedAt + 2_000))
      .then(() => (judged = true));
    // Not judged while the archive is behind the order log, however often the trail looks.
    await eventually(() => expect(looks.mock.calls.length).toBeGreaterThanOrEqual(3));
    expect(judged).toBe(false);
    await archiving();
    await handled;
    expect((await archive.trail('courier-1', placedAt, Date.now())).map((p) => p.orderId)).toEqual(['order-1']);
  });

  it('takes a courier’s backlog of positions through in one look at the archive, not one each', async () => {
    await archiving();
    const looks = jest.spyOn(bus, 'endPositions');
    const trail = trailOf();
    // Put on the bus a minute ago, handled one after another as a replay or a backlog does.
    for (let i = 0; i < 10; i += 1) {
      const fix = fixOf('courier-2', placedAt + i * 1_000);
      await trail.handle({ ...fix, time: new Date(Date.now() - 60_000 + i * 1_000).toISOString() });
    }
    expect(looks).toHaveBeenCalledTimes(1);
  });

  it('does not hold up positions put on the bus by a gateway whose clock is ahead', async () => {
    await archiving();
    const fix = fixOf('courier-2', Date.now());
    await expect(
      trailOf().handle({ ...fix, time: new Date(Date.now() + 60_000).toISOString() }),
    ).resolves.toBeUndefined();
  }, 8_000);

  it('lets the positions of an idle courier go once the archive has the order log', async () => {
    await archiving();
    await bus.publish('orders', orderEvent('order.assigned', order));
    await trailOf().handle(fixOf('courier-2', Date.now()));
    expect(await archive.trail('courier-2', placedAt, Date.now() + 1)).toEqual([]);
    // It was judged against the whole order log: the order on the bus when it came was archived by then.
    expect(await archive.knownAssigned(['order-1'])).toEqual(new Set(['order-1']));
  });
});
