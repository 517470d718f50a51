import type { CourierTrail, DispatchReportRow, OrderView, ProofView } from '@mesh/contracts';
import {
  DashboardModel,
  age,
  boardColumns,
  emptyReportRow,
  formatMetres,
  formatSeconds,
  headline,
  proofShown,
  reportKeyLabel,
  reportRows,
  reportSeries,
  reportSpan,
  trailSpan,
  trailState,
  urlExpiresAtMs,
  urlFresh,
  withoutToken,
} from './model';
import { fitProjection, formatDistance, gridStep, svgPoints } from './projection';

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
    proof: null,
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

function row(key: string, placed: number, extra: Partial<DispatchReportRow> = {}): DispatchReportRow {
  return { ...emptyReportRow(key), placed, ...extra };
}

describe('the reports panel', () => {
  it('asks for spans the API takes: ending now, at most 31 days, today from local midnight', () => {
    const now = T0 + 1_234;
    const day = reportSpan('last24h', now);
    expect(day).toEqual({ from: iso(1_234 - 86_400_000), to: iso(1_234) });
    expect(Date.parse(reportSpan('last7d', now).to) - Date.parse(reportSpan('last7d', now).from)).toBe(7 * 86_400_000);
    const today = new Date(reportSpan('today', now).from);
    expect([today.getHours(), today.getMinutes(), today.getSeconds()]).toEqual([0, 0, 0]);
    expect(Date.parse(reportSpan('today', now).to)).toBe(now);
    // At the very start of the day `to` still comes after `from`.
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    const first = reportSpan('today', midnight.getTime());
    expect(Date.parse(first.to)).toBeGreaterThan(Date.parse(first.from));
    expect(trailSpan(now)).toEqual({ from: iso(1_234 - 86_400_000), to: iso(1_234) });
  });

  it('turns hourly rows into series with every hour of the span, empty hours as zero', () => {
    const rows = [
      row(iso(2 * 3_600_000), 3, { delivered: 2, dispatchP95S: 4.4 }),
      row(iso(0), 5, { delivered: 5, dispatchP95S: 1.2 }),
    ];
    const series = reportSeries(rows, 'hour', { from: iso(600_000), to: iso(2 * 3_600_000 + 60_000) });
    expect(series.keys).toEqual([iso(0), iso(3_600_000), iso(2 * 3_600_000)]);
    expect(series.placed).toEqual([5, 0, 3]);
    expect(series.delivered).toEqual([5, 0, 2]);
    expect(series.dispatchP95S).toEqual([1.2, null, 4.4]);
    expect(series.labels).toEqual(series.keys.map((k) => reportKeyLabel(k, 'hour')));
  });

  it('puts the busiest areas first, and labels them by their cell', () => {
    const rows = [row('872830828ffffff', 1), row('87283082effffff', 7), row('872830820ffffff', 1)];
    expect(reportRows(rows, 'area').map((r) => r.key)).toEqual([
      '87283082effffff',
      '872830820ffffff',
      '872830828ffffff',
    ]);
    const series = reportSeries(rows, 'area');
    expect(series.labels).toEqual(['87283082effffff', '872830820ffffff', '872830828ffffff']);
    expect(series.placed).toEqual([7, 1, 1]);
  });

  it('writes hours in local time, with the date when the span crosses days', () => {
    const at = new Date(2026, 10, 22, 14, 0, 0);
    expect(reportKeyLabel(at.toISOString(), 'hour')).toBe('14:00');
    expect(reportKeyLabel(at.toISOString(), 'hour', true)).toBe('11-22 14:00');
    expect(reportKeyLabel('not a time', 'hour')).toBe('not a time');
  });

  it('formats latencies and distances, with a dash for none', () => {
    expect(formatSeconds(null)).toBe('—');
    expect(formatSeconds(0.84)).toBe('0.8 s');
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(210)).toBe('3.5 min');
    expect(formatMetres(null)).toBe('—');
    expect(formatMetres(849.6)).toBe('850 m');
    expect(formatMetres(2_440)).toBe('2.4 km');
  });
});

describe('a courier trail', () => {
  const feature = (geometry: CourierTrail['geometry'], times: string[], orderIds: string[]): CourierTrail => ({
    type: 'Feature',
    geometry,
    properties: { courierId: 'k', from: iso(0), to: iso(86_400_000), times, orderIds },
  });

  it('reads a GeoJSON line ([lng, lat]) as positions the map draws, oldest first', () => {
    const trail = trailState(
      feature(
        {
          type: 'LineString',
          coordinates: [
            [13.4, 52.5],
            [13.41, 52.51],
            [13.42, 52.52],
          ],
        },
        [iso(1), iso(2), iso(3)],
        ['A', 'A', 'B'],
      ),
    );
    expect(trail).toMatchObject({ courierId: 'k', loading: false, from: iso(1), to: iso(3), orderIds: ['A', 'B'] });
    expect(trail.positions).toEqual([
      { lat: 52.5, lng: 13.4 },
      { lat: 52.51, lng: 13.41 },
      { lat: 52.52, lng: 13.42 },
    ]);
  });

  it('takes one position as a point and none as an empty trail', () => {
    expect(trailState(feature({ type: 'Point', coordinates: [13.4, 52.5] }, [iso(1)], ['A'])).positions).toEqual([
      { lat: 52.5, lng: 13.4 },
    ]);
    expect(trailState(feature(null, [], []))).toMatchObject({ positions: [], from: null, to: null });
  });

  it('draws the trail as polyline points through the same projection as the couriers', () => {
    const positions = [
      { lat: 52.5, lng: 13.4 },
      { lat: 52.51, lng: 13.42 },
    ];
    const p = fitProjection(positions, 600, 400);
    const points = svgPoints(positions, p).split(' ');
    expect(points).toHaveLength(2);
    const [x0, y0] = points[0]!.split(',').map(Number);
    const [x1, y1] = points[1]!.split(',').map(Number);
    expect(x0).toBeCloseTo(p.x(13.4), 1);
    expect(y0).toBeCloseTo(p.y(52.5), 1);
    // East is right, north is up.
    expect(x1).toBeGreaterThan(x0!);
    expect(y1).toBeLessThan(y0!);
    expect(svgPoints([], p)).toBe('');
  });
});

describe('a proof-of-delivery photo on its card', () => {
  const expS = Math.floor((T0 + 900_000) / 1000);
  const signed = (file: string) => `/v1/orders/A/proof/U/${file}?token=${expS.toString(36)}.${'x'.repeat(43)}`;
  const proof = (status: 'processing' | 'ready' | 'failed', extra: Partial<ProofView> = {}): ProofView => ({
    status,
    photoUrl: null,
    thumbnailUrl: null,
    error: null,
    ...extra,
  });

  it('shows the thumbnail once ready, a label while processing or failed, and nothing without a photo', () => {
    const ready = proof('ready', { photoUrl: signed('photo.jpg'), thumbnailUrl: signed('w128.webp') });
    expect(proofShown(ready)).toEqual({
      kind: 'thumbnail',
      thumbnailUrl: signed('w128.webp'),
      photoUrl: signed('photo.jpg'),
    });
    expect(proofShown(proof('processing'))).toEqual({
      kind: 'label',
      state: 'processing',
      text: 'photo processing',
      title: null,
    });
    expect(proofShown(proof('failed', { error: 'not a decodable image' }))).toEqual({
      kind: 'label',
      state: 'failed',
      text: 'photo failed',
      title: 'not a decodable image',
    });
    expect(proofShown(proof('failed'))).toMatchObject({ text: 'photo failed', title: expect.any(String) });
    // Ready as the event log holds it (no URLs): said, not drawn.
    expect(proofShown(proof('ready'))).toMatchObject({ kind: 'label', state: 'ready', text: 'photo ready' });
    expect(proofShown(null)).toBeNull();
    expect(proofShown(undefined)).toBeNull();
  });

  it('reads when a signed URL expires, to sign it afresh before it stops working', () => {
    expect(urlExpiresAtMs(signed('photo.jpg'))).toBe(expS * 1000);
    expect(urlExpiresAtMs(`http://localhost:3000${signed('photo.jpg')}`)).toBe(expS * 1000);
    expect(urlExpiresAtMs('/v1/orders/A/proof/U/photo.jpg')).toBeNull();
    expect(urlFresh(signed('photo.jpg'), T0)).toBe(true);
    expect(urlFresh(signed('photo.jpg'), expS * 1000 - 10_000)).toBe(false);
    expect(urlFresh(signed('photo.jpg'), expS * 1000 + 1)).toBe(false);
    expect(urlFresh('/no/token.jpg', T0)).toBe(true);
  });

  it('knows the same picture under another token', () => {
    const later = signed('w128.webp').replace(/token=[^&]*/, 'token=zz.yy');
    expect(withoutToken(later)).toBe(withoutToken(signed('w128.webp')));
    expect(withoutToken(signed('w128.webp'))).toBe('/v1/orders/A/proof/U/w128.webp');
    expect(withoutToken(signed('photo.jpg'))).not.toBe(withoutToken(signed('w128.webp')));
  });
});
