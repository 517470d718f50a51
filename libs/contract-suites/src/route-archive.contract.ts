import { latLngToCell } from 'h3-js';
import type { OrderChangeType, OrderStatus, OrderView } from '@mesh/contracts';
import { haversineM, type RouteArchive } from '@mesh/archive';
import { uniqueName } from '@mesh/harness';

export interface RouteArchiveUnderTest {
  archive: RouteArchive;
  dispose(): Promise<void>;
}

const HOUR = 3_600_000;
// An hour of its own per run, so a shared database's earlier runs do not count.
const baseHour = () => Math.floor(Date.UTC(2030, 0, 1) / HOUR + Math.floor(Math.random() * 500_000)) * HOUR;

const PICKUP_A = { lat: 52.52, lng: 13.405 };
const PICKUP_B = { lat: 52.45, lng: 13.3 };

/** An order as an event would carry it after reaching `stages` (status → ms after it was placed). */
function orderAt(
  id: string,
  placedMs: number,
  stages: [OrderStatus, number][],
  opts: { courierId?: string; pickup?: { lat: number; lng: number } } = {},
): OrderView {
  const timeline = [{ status: 'pending' as OrderStatus, at: new Date(placedMs).toISOString() }].concat(
    stages.map(([status, after]) => ({ status, at: new Date(placedMs + after).toISOString() })),
  );
  const status = timeline[timeline.length - 1]?.status as OrderStatus;
  const assigned = stages.some(([s]) => s === 'assigned');
  return {
    id,
    status,
    customerId: 'customer-1',
    merchantId: null,
    courierId: assigned ? (opts.courierId ?? 'courier-1') : null,
    pickup: opts.pickup ?? PICKUP_A,
    dropoff: { lat: 52.5, lng: 13.42 },
    items: [],
    note: null,
    attempts: 1,
    eta: null,
    createdAt: new Date(placedMs).toISOString(),
    updatedAt: timeline[timeline.length - 1]?.at as string,
    timeline,
    proof: null,
  };
}

const event = (type: OrderChangeType, order: OrderView) => ({
  eventId: uniqueName('evt'),
  type,
  at: order.updatedAt,
  order,
});

/** An order assigned 1 s after it was placed and delivered 5 s after, by `courierId`. */
const deliveredAt5s = (id: string, placed: number, courierId: string) =>
  event(
    'order.delivered',
    orderAt(
      id,
      placed,
      [
        ['assigned', 1_000],
        ['delivered', 5_000],
      ],
      { courierId },
    ),
  );

/** The behaviour every RouteArchive adapter must have. Run against each adapter. */
export function routeArchiveContract(adapter: string, create: () => Promise<RouteArchiveUnderTest>): void {
  describe(`RouteArchive contract: ${adapter}`, () => {
    let under: RouteArchiveUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    it('counts each order once per stage, however often and in whatever order its events are recorded', async () => {
      const hour = baseHour();
      const id = uniqueName('order');
      const placed = hour + 60_000;
      const events = [
        event('order.created', orderAt(id, placed, [])),
        event('order.assigned', orderAt(id, placed, [['assigned', 2_000]])),
        event(
          'order.picked_up',
          orderAt(id, placed, [
            ['assigned', 2_000],
            ['picked_up', 300_000],
          ]),
        ),
        event(
          'order.delivered',
          orderAt(id, placed, [
            ['assigned', 2_000],
            ['picked_up', 300_000],
            ['delivered', 900_000],
          ]),
        ),
      ];
      expect(await under.archive.recordOrderEvents([events[3], events[0]] as never)).toBe(2);
      // A replay of all four: only the two not yet recorded count.
      expect(await under.archive.recordOrderEvents(events)).toBe(2);
      expect(await under.archive.recordOrderEvents(events)).toBe(0);

      const [row] = await under.archive.dispatchReport({ fromMs: hour, toMs: hour + HOUR, groupBy: 'hour' });
      expect(row).toEqual({
        key: new Date(hour).toISOString(),
        placed: 1,
        delivered: 1,
        cancelled: 0,
        unassigned: 0,
        dispatchP50S: expect.any(Number),
        dispatchP95S: expect.any(Number),
        dispatchP99S: expect.any(Number),
        toPickupP50S: expect.any(Number),
        toDeliveryP50S: expect.any(Number),
        distanceMPerDelivery: 0,
      });
      // Read back within a bucket's width (10%) above the truth.
      expect(row?.dispatchP50S).toBeGreaterThanOrEqual(2);
      expect(row?.dispatchP50S).toBeLessThanOrEqual(2.2);
      expect(row?.toPickupP50S).toBeGreaterThanOrEqual(300);
      expect(row?.toPickupP50S).toBeLessThanOrEqual(330);
      expect(row?.toDeliveryP50S).toBeGreaterThanOrEqual(900);
      expect(row?.toDeliveryP50S).toBeLessThanOrEqual(990);
    });

    it('reports per hour and per pickup cell, cancelled and unassigned orders too, only within the span asked', async () => {
      const hour = baseHour();
      const a = uniqueName('order');
      const b = uniqueName('order');
      const c = uniqueName('order');
      const late = uniqueName('order');
      await under.archive.recordOrderEvents([
        event('order.created', orderAt(a, hour + 1_000, [])),
        event('order.cancelled', orderAt(b, hour + 2_000, [['cancelled', 5_000]], { pickup: PICKUP_B })),
        event('order.unassigned', orderAt(c, hour + HOUR + 10, [['unassigned', 60_000]])),
        event('order.created', orderAt(late, hour + 2 * HOUR, [])),
      ]);
      const byHour = await under.archive.dispatchReport({
        fromMs: hour + 30 * 60_000,
        toMs: hour + 2 * HOUR,
        groupBy: 'hour',
      });
      expect(byHour.map((r) => [r.key, r.placed, r.cancelled, r.unassigned, r.dispatchP50S])).toEqual([
        [new Date(hour).toISOString(), 2, 1, 0, null],
        [new Date(hour + HOUR).toISOString(), 1, 0, 1, null],
      ]);
      const byArea = await under.archive.dispatchReport({ fromMs: hour, toMs: hour + 2 * HOUR, groupBy: 'area' });
      const cellA = latLngToCell(PICKUP_A.lat, PICKUP_A.lng, 7);
      const cellB = latLngToCell(PICKUP_B.lat, PICKUP_B.lng, 7);
      expect(byArea.map((r) => [r.key, r.placed, r.cancelled, r.unassigned]).sort()).toEqual(
        [
          [cellA, 2, 0, 1],
          [cellB, 1, 1, 0],
        ].sort(),
      );
    });

    it('keeps the positions of a courier on an order as its trail, and their length as the distance per delivery', async () => {
      const hour = baseHour();
      const id = uniqueName('order');
      const courierId = uniqueName('courier');
      const placed = hour + 1_000;
      const assigned = orderAt(id, placed, [['assigned', 1_000]], { courierId });
      await under.archive.recordOrderEvents([
        event('order.created', orderAt(id, placed, [])),
        event('order.assigned', assigned),
      ]);
      const fix = (afterMs: number, lat: number) => ({ courierId, atMs: placed + afterMs, lat, lng: 13.4 });
      const before = fix(500, 52.4); // before the assignment: not on this order
      const onTheWay = [fix(2_000, 52.5), fix(3_000, 52.501), fix(4_000, 52.503)];
      expect(await under.archive.recordPositions([before, ...onTheWay])).toEqual({ kept: 3, unmatched: [before] });
      // A replay keeps nothing twice.
      expect(await under.archive.recordPositions(onTheWay)).toEqual({ kept: 0, unmatched: [] });
      await under.archive.recordOrderEvents([deliveredAt5s(id, placed, courierId)]);
      const arrived = fix(4_500, 52.504);
      const afterwards = fix(6_000, 52.6); // after the delivery: not on this order
      expect(await under.archive.recordPositions([afterwards, arrived])).toEqual({ kept: 1, unmatched: [afterwards] });

      const trail = await under.archive.trail(courierId, hour, hour + HOUR);
      expect(trail.map((p) => [p.atMs - placed, p.lat, p.orderId])).toEqual([
        [2_000, 52.5, id],
        [3_000, 52.501, id],
        [4_000, 52.503, id],
        [4_500, 52.504, id],
      ]);
      expect(await under.archive.trail(courierId, placed + 3_000, placed + 4_500)).toHaveLength(2);
      const legs = [...onTheWay, arrived].slice(1).map((p, i) => haversineM([...onTheWay, arrived][i] as never, p));
      const [row] = await under.archive.dispatchReport({ fromMs: hour, toMs: hour + HOUR, groupBy: 'hour' });
      expect(row?.distanceMPerDelivery).toBe(Math.round(legs.reduce((a, b) => a + b, 0)));
    });

    it('drops positions from after the order ended that came before the end did, and measures the route whatever the order positions came in', async () => {
      const hour = baseHour();
      const id = uniqueName('order');
      const courierId = uniqueName('courier');
      const placed = hour + 1_000;
      await under.archive.recordOrderEvents([
        event('order.assigned', orderAt(id, placed, [['assigned', 1_000]], { courierId })),
      ]);
      const fix = (afterMs: number, lat: number) => ({ courierId, atMs: placed + afterMs, lat, lng: 13.4 });
      const route = [fix(2_000, 52.5), fix(3_000, 52.502), fix(4_000, 52.501)];
      // Newest first, and one from after the delivery, before the archive knows of the delivery.
      const late = fix(9_000, 52.7);
      expect((await under.archive.recordPositions([route[2]!, late])).kept).toBe(2);
      await under.archive.recordOrderEvents([deliveredAt5s(id, placed, courierId)]);
      expect((await under.archive.recordPositions([route[1]!, route[0]!])).kept).toBe(2);

      const trail = await under.archive.trail(courierId, hour, hour + HOUR);
      expect(trail.map((p) => p.atMs - placed)).toEqual([2_000, 3_000, 4_000]);
      const [row] = await under.archive.dispatchReport({ fromMs: hour, toMs: hour + HOUR, groupBy: 'hour' });
      expect(row?.distanceMPerDelivery).toBe(
        Math.round(haversineM(route[0]!, route[1]!) + haversineM(route[1]!, route[2]!)),
      );
    });

    it('keeps no position from after an order ended, however its end and the positions interleave', async () => {
      const hour = baseHour();
      const orders = Array.from({ length: 40 }, () => ({ id: uniqueName('order'), courierId: uniqueName('courier') }));
      const placed = hour + 1_000;
      await under.archive.recordOrderEvents(
        orders.map((o) =>
          event('order.assigned', orderAt(o.id, placed, [['assigned', 1_000]], { courierId: o.courierId })),
        ),
      );
      const fix = (courierId: string, afterMs: number) => ({ courierId, atMs: placed + afterMs, lat: 52.5, lng: 13.4 });
      // Each order's end and a position from before and after it, recorded at the same moment.
      await Promise.all(
        orders.flatMap((o) => [
          under.archive.recordOrderEvents([deliveredAt5s(o.id, placed, o.courierId)]),
          under.archive.recordPositions([fix(o.courierId, 4_000), fix(o.courierId, 6_000)]),
        ]),
      );
      for (const o of orders) {
        expect((await under.archive.trail(o.courierId, hour, hour + HOUR)).map((p) => p.atMs - placed)).toEqual([
          4_000,
        ]);
      }
    });

    it('tells which orders it knows were assigned', async () => {
      const hour = baseHour();
      const [placed, assigned] = [uniqueName('order'), uniqueName('order')];
      await under.archive.recordOrderEvents([
        event('order.created', orderAt(placed, hour + 1_000, [])),
        event('order.assigned', orderAt(assigned, hour + 1_000, [['assigned', 1_000]])),
      ]);
      expect(await under.archive.knownAssigned([placed, assigned, uniqueName('never')])).toEqual(new Set([assigned]));
    });

    it('trims the raw log before a time and keeps the reports', async () => {
      const hour = baseHour();
      const id = uniqueName('order');
      const courierId = uniqueName('courier');
      await under.archive.recordOrderEvents([
        event('order.assigned', orderAt(id, hour + 1_000, [['assigned', 1_000]], { courierId })),
      ]);
      await under.archive.recordPositions([{ courierId, atMs: hour + 3_000, lat: 52.5, lng: 13.4 }]);
      expect(await under.archive.trimBefore(hour + HOUR)).toBeGreaterThanOrEqual(3);
      expect(await under.archive.trail(courierId, hour, hour + HOUR)).toEqual([]);
      const [row] = await under.archive.dispatchReport({ fromMs: hour, toMs: hour + HOUR, groupBy: 'hour' });
      expect(row?.placed).toBe(1);
    });
  });
}
