import type {
  CourierLocationPush,
  CourierStatus,
  CourierView,
  FunctionHealthList,
  ScheduleList,
  OrderStatus,
  OrderView,
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
