import type { OrderView } from '@mesh/contracts';
import { DashboardModel, age, boardColumns, headline } from './model';
import { fitProjection, formatDistance, gridStep } from './projection';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function order(id: string, status: OrderView['status'], createdMs: number, extra: Partial<OrderView> = {}): OrderView {
  return {
    id,
    status,
    customerId: 'c',
    merchantId: null,
    courierId: null,
    pickup: { lat: 52.5, lng: 13.4 },
    dropoff: { lat: 52.51, lng: 13.41 },
    items: [],
    note: null,
    attempts: 1,
    eta: null,
    createdAt: iso(createdMs),
    updatedAt: iso(createdMs),
    timeline: [{ status: 'pending', at: iso(createdMs) }],
    ...extra,
  };
}

describe('the dashboard model', () => {
  it('keeps the newest view of an order when a push and the catch-up cross', () => {
    const model = new DashboardModel();
    model.order(order('A', 'assigned', 0, { updatedAt: iso(5_000) }));
    model.order(order('A', 'offered', 0, { updatedAt: iso(1_000) }));
    expect(model.orders.get('A')?.status).toBe('assigned');
  });

  it('moves a courier to busy with its order and back to available when the order is done', () => {
    const model = new DashboardModel();
    model.reset({
      orders: [],
      couriers: [{ id: 'k', status: 'available', location: { lat: 52.5, lng: 13.4, at: iso(0) }, activeOrderId: null }],
      streams: [],
    });
    model.order(order('A', 'assigned', 0, { courierId: 'k', updatedAt: iso(1) }));
    expect(model.couriers.get('k')).toMatchObject({ status: 'busy', orderId: 'A' });
    model.order(order('A', 'delivered', 0, { courierId: 'k', updatedAt: iso(2) }));
    expect(model.couriers.get('k')).toMatchObject({ status: 'available', orderId: null });
    model.courierMoved({ courierId: 'new', orderId: 'B', lat: 1, lng: 2, at: iso(3) });
    expect(model.couriers.get('new')).toMatchObject({ status: 'busy', lat: 1, lng: 2 });
  });

  it('sorts the board: open orders oldest first, finished ones newest first, unassigned on their own', () => {
    const columns = boardColumns([
      order('new', 'pending', 2_000),
      order('old', 'offered', 1_000),
      order('lost', 'unassigned', 0),
      order('done1', 'delivered', 0, { updatedAt: iso(10) }),
      order('done2', 'cancelled', 0, { updatedAt: iso(20) }),
    ]);
    expect(columns.waiting.map((o) => o.id)).toEqual(['old', 'new']);
    expect(columns.unassigned.map((o) => o.id)).toEqual(['lost']);
    expect(columns.done.map((o) => o.id)).toEqual(['done2', 'done1']);
  });

  it('computes orders per minute and the dispatch p95 from the orders it holds', () => {
    const model = new DashboardModel();
    for (let i = 0; i < 20; i++) {
      const created = 30_000 + i * 1_000;
      const offeredAfter = i === 19 ? 4_000 : 100;
      model.order(
        order(`o${i}`, 'offered', created, {
          timeline: [
            { status: 'pending', at: iso(created) },
            { status: 'offered', at: iso(created + offeredAfter) },
          ],
        }),
      );
    }
    model.order(order('old', 'pending', -120_000));
    const figures = headline(model, T0 + 60_000);
    expect(figures.ordersPerMin).toBe(20);
    expect(figures.dispatchP95S).toBe(4);
  });

  it('writes ages the way a dispatcher reads them', () => {
    expect(age(iso(0), T0 + 12_400)).toBe('12 s');
    expect(age(iso(0), T0 + 185_000)).toBe('3 min');
    expect(age(iso(0), T0 + 7_300_000)).toBe('2 h');
  });
});

describe('the map projection', () => {
  it('fits every point inside the box, north up, with true metres both ways', () => {
    const points = [
      { lat: 52.5, lng: 13.3 },
      { lat: 52.55, lng: 13.5 },
    ];
    const p = fitProjection(points, 800, 400);
    for (const point of points) {
      expect(p.x(point.lng)).toBeGreaterThanOrEqual(0);
      expect(p.x(point.lng)).toBeLessThanOrEqual(800);
      expect(p.y(point.lat)).toBeGreaterThanOrEqual(0);
      expect(p.y(point.lat)).toBeLessThanOrEqual(400);
    }
    expect(p.y(52.55)).toBeLessThan(p.y(52.5));
    // 1 km east and 1 km north are the same length on screen.
    const east = p.x(13.4 + 1_000 / (111_320 * Math.cos((52.525 * Math.PI) / 180))) - p.x(13.4);
    const north = p.y(52.525) - p.y(52.525 + 1_000 / 111_320);
    expect(east).toBeCloseTo(north, 1);
  });

  it('picks round grid steps and writes them with their unit', () => {
    expect(gridStep(10_000)).toBe(2_000);
    expect(gridStep(700)).toBe(100);
    expect(formatDistance(2_000)).toBe('2 km');
    expect(formatDistance(500)).toBe('500 m');
  });
});
