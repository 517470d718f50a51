import type {
  CourierLocationPush,
  CourierStatus,
  CourierTrail,
  CourierView,
  DispatchReportRow,
  FunctionHealthList,
  ScheduleList,
  OrderStatus,
  OrderView,
  ProofView,
  StreamView,
} from '@mesh/contracts';

/** A courier as the map shows it. */
export interface CourierDot {
  id: string;
  status: CourierStatus;
  lat: number;
  lng: number;
  orderId: string | null;
}

/**
 * What the dashboard knows, as plain data: filled by the REST catch-up on every
 * (re)connect, then kept current by the socket's pushes. Pure, so it is tested
 * without a browser.
 */
export class DashboardModel {
  readonly orders = new Map<string, OrderView>();
  readonly couriers = new Map<string, CourierDot>();
  readonly streams = new Map<string, StreamView>();
  functions: FunctionHealthList['items'] = [];
  schedules: ScheduleList['items'] = [];
  /** The courier whose trail the map shows, if the dispatcher picked one. */
  trail: TrailState | null = null;

  /** Replaces everything with a fresh snapshot (after a reconnect, what was missed is in it). */
  reset(snapshot: {
    orders: readonly OrderView[];
    couriers: readonly CourierView[];
    streams: readonly StreamView[];
  }): void {
    this.orders.clear();
    this.streams.clear();
    for (const order of snapshot.orders) this.orders.set(order.id, order);
    this.resetCouriers(snapshot.couriers);
    for (const stream of snapshot.streams) this.streams.set(stream.id, stream);
  }

  /** Replaces the couriers with a fresh list (positions are not replayed after a reconnect). */
  resetCouriers(couriers: readonly CourierView[]): void {
    this.couriers.clear();
    for (const courier of couriers) {
      if (!courier.location) continue;
      this.couriers.set(courier.id, {
        id: courier.id,
        status: courier.status,
        lat: courier.location.lat,
        lng: courier.location.lng,
        orderId: courier.activeOrderId,
      });
    }
  }

  /** Keeps the newest view of an order (pushes may cross the catch-up); its courier follows it. */
  order(order: OrderView): void {
    const known = this.orders.get(order.id);
    if (known && known.updatedAt > order.updatedAt) return;
    this.orders.set(order.id, order);
    const courier = order.courierId ? this.couriers.get(order.courierId) : undefined;
    if (!courier) return;
    if (order.status === 'assigned' || order.status === 'picked_up') {
      courier.status = 'busy';
      courier.orderId = order.id;
    } else if (courier.orderId === order.id) {
      courier.status = 'available';
      courier.orderId = null;
    }
  }

  courierMoved(push: CourierLocationPush): void {
    const known = this.couriers.get(push.courierId);
    this.couriers.set(push.courierId, {
      id: push.courierId,
      lat: push.lat,
      lng: push.lng,
      orderId: push.orderId,
      status: push.orderId ? 'busy' : known && known.status !== 'busy' ? known.status : 'available',
    });
  }

  stream(stream: StreamView): void {
    const known = this.streams.get(stream.id);
    if (known && known.updatedAt > stream.updatedAt) return;
    this.streams.set(stream.id, stream);
  }
}

export const BOARD_COLUMNS = [
  { key: 'waiting', title: 'Waiting', statuses: ['pending', 'dispatching', 'offered'] },
  { key: 'unassigned', title: 'Unassigned', statuses: ['unassigned'] },
  { key: 'moving', title: 'On the way', statuses: ['assigned', 'picked_up'] },
  { key: 'done', title: 'Done', statuses: ['delivered', 'cancelled'] },
] as const satisfies readonly { key: string; title: string; statuses: readonly OrderStatus[] }[];

/** How many finished orders the board keeps showing. */
const DONE_SHOWN = 15;

/** The order board: open orders oldest first (they need attention), finished ones newest first. */
export function boardColumns(orders: Iterable<OrderView>): Record<(typeof BOARD_COLUMNS)[number]['key'], OrderView[]> {
  const columns = {
    waiting: [] as OrderView[],
    unassigned: [] as OrderView[],
    moving: [] as OrderView[],
    done: [] as OrderView[],
  };
  for (const order of orders) {
    const column = BOARD_COLUMNS.find((c) => (c.statuses as readonly OrderStatus[]).includes(order.status));
    if (column) columns[column.key].push(order);
  }
  for (const key of ['waiting', 'unassigned', 'moving'] as const)
    columns[key].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  columns.done.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  columns.done = columns.done.slice(0, DONE_SHOWN);
  return columns;
}

export interface Headline {
  ordersPerMin: number;
  /** Order placed → first offer, over the orders offered in the last five minutes; null when none were. */
  dispatchP95S: number | null;
  available: number;
  busy: number;
  replicas: number;
  lag: number;
}

/** The headline figures, from what the dashboard holds. */
export function headline(model: DashboardModel, nowMs: number): Headline {
  let ordersPerMin = 0;
  const dispatch: number[] = [];
  for (const order of model.orders.values()) {
    const created = Date.parse(order.createdAt);
    if (nowMs - created <= 60_000) ordersPerMin += 1;
    const offered = order.timeline.find((t) => t.status === 'offered');
    if (offered && nowMs - Date.parse(offered.at) <= 300_000) dispatch.push((Date.parse(offered.at) - created) / 1000);
  }
  dispatch.sort((a, b) => a - b);
  let available = 0;
  let busy = 0;
  for (const courier of model.couriers.values()) {
    if (courier.status === 'available') available += 1;
    else if (courier.status === 'busy' || courier.status === 'offered') busy += 1;
  }
  return {
    ordersPerMin,
    dispatchP95S: dispatch.length ? dispatch[Math.min(dispatch.length - 1, Math.floor(0.95 * dispatch.length))]! : null,
    available,
    busy,
    replicas: model.functions.reduce((sum, f) => sum + f.replicas, 0),
    lag: model.functions.reduce((sum, f) => sum + f.lag, 0),
  };
}

/** "12 s", "3 min", "2 h": how long ago, for the board. */
export function age(fromIso: string, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** The spans the reports panel offers; the first is the default. */
export const REPORT_SPANS = [
  { key: 'last24h', title: 'Last 24 hours' },
  { key: 'today', title: 'Today' },
  { key: 'last7d', title: 'Last 7 days' },
] as const;
export type ReportSpanKey = (typeof REPORT_SPANS)[number]['key'];
/** A dispatch report's span and grouping. */
export interface ReportQuery {
  from: string;
  to: string;
  groupBy: ReportGroupBy;
}

export type ReportGroupBy = 'hour' | 'area';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The `from`/`to` of a report span ending now; "today" starts at the dispatcher's local midnight. */
export function reportSpan(span: ReportSpanKey, nowMs: number): { from: string; to: string } {
  let fromMs: number;
  if (span === 'today') {
    const midnight = new Date(nowMs);
    midnight.setHours(0, 0, 0, 0);
    fromMs = midnight.getTime();
  } else fromMs = nowMs - (span === 'last7d' ? 7 : 1) * DAY_MS;
  // The API wants `to` after `from`, even in the first second of the day.
  return { from: new Date(fromMs).toISOString(), to: new Date(Math.max(nowMs, fromMs + 1_000)).toISOString() };
}

/** The trail the map shows: the last 24 hours (the most one request returns) up to now. */
export function trailSpan(nowMs: number): { from: string; to: string } {
  return { from: new Date(nowMs - DAY_MS).toISOString(), to: new Date(nowMs).toISOString() };
}

export const isReportSpan = (value: string): value is ReportSpanKey => REPORT_SPANS.some((s) => s.key === value);

/** What the chart draws: one label per key, counts as bars, dispatch p95 (seconds) as a line. */
export interface ReportSeries {
  keys: string[];
  labels: string[];
  placed: number[];
  delivered: number[];
  dispatchP95S: (number | null)[];
}

/**
 * The chart's series. By hour, every hour of the span is there (an hour with no
 * orders is a zero, not a gap that joins its neighbours); by area, the busiest
 * cells first.
 */
export function reportSeries(
  rows: readonly DispatchReportRow[],
  groupBy: ReportGroupBy,
  span?: { from: string; to: string },
): ReportSeries {
  const ordered = groupBy === 'hour' ? everyHour(rows, span) : reportRows(rows, groupBy);
  const multiDay = groupBy === 'hour' && spansDays(ordered.map((r) => r.key));
  return {
    keys: ordered.map((r) => r.key),
    labels: ordered.map((r) => reportKeyLabel(r.key, groupBy, multiDay)),
    placed: ordered.map((r) => r.placed),
    delivered: ordered.map((r) => r.delivered),
    dispatchP95S: ordered.map((r) => r.dispatchP95S),
  };
}

/** The table's rows: hours in time order, areas busiest first. */
export function reportRows(rows: readonly DispatchReportRow[], groupBy: ReportGroupBy): DispatchReportRow[] {
  return [...rows].sort((a, b) =>
    groupBy === 'area' && a.placed !== b.placed ? b.placed - a.placed : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
}

function everyHour(rows: readonly DispatchReportRow[], span?: { from: string; to: string }): DispatchReportRow[] {
  const byHour = new Map(rows.map((r) => [Date.parse(r.key), r]));
  const known = [...byHour.keys()].filter((ms) => !Number.isNaN(ms));
  const fromMs = span ? Math.floor(Date.parse(span.from) / HOUR_MS) * HOUR_MS : Math.min(...known);
  const toMs = span ? Date.parse(span.to) : Math.max(...known) + 1;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return reportRows(rows, 'hour');
  const out: DispatchReportRow[] = [];
  for (let hour = fromMs; hour < toMs; hour += HOUR_MS)
    out.push(byHour.get(hour) ?? emptyReportRow(new Date(hour).toISOString()));
  // Rows the server has outside the span (it should have none) are not dropped silently.
  for (const row of rows) if (!out.includes(row)) out.push(row);
  return reportRows(out, 'hour');
}

/** A report row with nothing in it (an hour without orders). */
export const emptyReportRow = (key: string): DispatchReportRow => ({
  key,
  placed: 0,
  delivered: 0,
  cancelled: 0,
  unassigned: 0,
  dispatchP50S: null,
  dispatchP95S: null,
  dispatchP99S: null,
  toPickupP50S: null,
  toDeliveryP50S: null,
  distanceMPerDelivery: null,
});

const pad = (n: number) => String(n).padStart(2, '0');

/** Whether hours (ISO keys) fall on more than one of the dispatcher's days, so their labels need the date. */
export function spansDays(keys: readonly string[]): boolean {
  const days = new Set(keys.map((k) => new Date(k).toDateString()));
  return days.size > 1;
}

/** An hour in the dispatcher's time ("14:00", or "12-05 14:00" when the span crosses days); an area as its H3 cell. */
export function reportKeyLabel(key: string, groupBy: ReportGroupBy, withDate = false): string {
  if (groupBy === 'area') return key;
  const at = new Date(key);
  if (Number.isNaN(at.getTime())) return key;
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  return withDate ? `${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}` : time;
}

/** "0.8 s", "42 s", "3.5 min"; a dash when there is nothing to measure. */
export function formatSeconds(s: number | null): string {
  if (s === null) return '—';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

/** "850 m", "2.4 km"; a dash when nothing was delivered. */
export function formatMetres(m: number | null): string {
  if (m === null) return '—';
  return m < 1_000 ? `${Math.round(m)} m` : `${(m / 1_000).toFixed(1)} km`;
}

/** The trail the map shows: loading, or its positions ([lat, lng] order of the map, oldest first). */
export interface TrailState {
  courierId: string;
  loading: boolean;
  positions: { lat: number; lng: number }[];
  orderIds: string[];
  from: string | null;
  to: string | null;
  error: string | null;
}

/** A GeoJSON trail as the map draws it: a line, one point, or nothing. */
export function trailState(trail: CourierTrail): TrailState {
  const g = trail.geometry;
  const coordinates = g === null ? [] : g.type === 'Point' ? [g.coordinates] : g.coordinates;
  return {
    courierId: trail.properties.courierId,
    loading: false,
    positions: coordinates.map(([lng, lat]) => ({ lat, lng })),
    orderIds: [...new Set(trail.properties.orderIds)],
    from: trail.properties.times[0] ?? null,
    to: trail.properties.times.at(-1) ?? null,
    error: null,
  };
}

/** What an order's card shows of its proof-of-delivery photo: the thumbnail (opening the photo), or a label. */
export type ProofShown =
  | { kind: 'thumbnail'; thumbnailUrl: string; photoUrl: string }
  | { kind: 'label'; state: ProofView['status']; text: string; title: string | null };

/** The card's part of a proof photo; null when the order has none (API.md "Proof of delivery"). */
export function proofShown(proof: ProofView | null | undefined): ProofShown | null {
  if (!proof) return null;
  if (proof.status === 'ready' && proof.thumbnailUrl && proof.photoUrl)
    return { kind: 'thumbnail', thumbnailUrl: proof.thumbnailUrl, photoUrl: proof.photoUrl };
  if (proof.status === 'failed')
    return {
      kind: 'label',
      state: 'failed',
      text: 'photo failed',
      title: proof.error ?? 'The photo could not be processed.',
    };
  // Ready without its URLs is what the event log holds; whoever may see the order is given them.
  return proof.status === 'ready'
    ? { kind: 'label', state: 'ready', text: 'photo ready', title: null }
    : { kind: 'label', state: 'processing', text: 'photo processing', title: null };
}

/** When a signed photo URL stops working (its `token=<expiry, base 36 seconds>.<mac>`), or null if it says not. */
export function urlExpiresAtMs(url: string): number | null {
  const match = /[?&]token=([0-9a-z]{1,10})\./.exec(url);
  return match ? parseInt(match[1]!, 36) * 1_000 : null;
}

/** Whether a signed URL still works for at least `marginMs`; one without an expiry is taken as working. */
export function urlFresh(url: string, nowMs: number, marginMs = 30_000): boolean {
  const expiresAtMs = urlExpiresAtMs(url);
  return expiresAtMs === null || expiresAtMs - marginMs > nowMs;
}

/** A signed URL without its token: the same picture, whichever token it was fetched with. */
export const withoutToken = (url: string): string => url.replace(/[?#].*$/, '');
