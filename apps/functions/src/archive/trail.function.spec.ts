import { MemoryRouteArchive } from '@mesh/archive';
import { DependencyUnavailable, newEvent } from '@mesh/bus';
import type { OrderView } from '@mesh/contracts';
import type { CourierGeoRepository } from '@mesh/geo';
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

describe('the trail function', () => {
  it('keeps a position that came before the archive knew its courier’s order, once the order is archived', async () => {
    const archive = new MemoryRouteArchive();
    const trail = new TrailFunction(archive, live);
    const handled = trail.handle(fixOf('courier-1', placedAt + 2_000));
    // The order's assignment reaches the archive while the position waits for it.
    await archive.recordOrderEvents([{ eventId: 'e1', type: 'order.assigned', at: order.updatedAt, order }]);
    await handled;
    expect((await archive.trail('courier-1', placedAt, Date.now())).map((p) => p.orderId)).toEqual(['order-1']);
  });

  it('hands the event back to wait when the archive has still not seen the order', async () => {
    const trail = new TrailFunction(new MemoryRouteArchive(), live);
    await expect(trail.handle(fixOf('courier-1', placedAt + 2_000) as never)).rejects.toBeInstanceOf(
      DependencyUnavailable,
    );
  });

  it('lets the positions of an idle courier go at once', async () => {
    const archive = new MemoryRouteArchive();
    await new TrailFunction(archive, live).handle(fixOf('courier-2', Date.now()));
    expect(await archive.trail('courier-2', placedAt, Date.now() + 1)).toEqual([]);
  });
});
