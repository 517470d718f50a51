import { distance } from '@turf/turf';
import { latLngToCell } from 'h3-js';
import { REPORT_H3_RESOLUTION, type OrderStatus, type OrderView } from '@mesh/contracts';
import { bucketOf } from './histogram';

const HOUR_MS = 3_600_000;

/** What the route log keeps of one order: when it first reached each stage, where, and its trail's length. */
export interface OrderFacts {
  orderId: string;
  placedAtMs: number;
  /** The start of the hour (UTC) it was placed in, and the H3 cell of its pickup: its report keys. */
  hourMs: number;
  cell: string;
  courierId: string | null;
  assignedAtMs: number | null;
  pickedUpAtMs: number | null;
  deliveredAtMs: number | null;
  cancelledAtMs: number | null;
  unassignedAtMs: number | null;
  /** Metres its courier covered from assignment to delivery (its trail's length, once delivered). */
  routeM: number;
}

/** The latency histograms a report keeps: seconds from placing to assignment, to pick-up, to delivery. */
export const LATENCY_METRICS = ['dispatch', 'toPickup', 'toDelivery'] as const;
export type LatencyMetric = 0 | 1 | 2;

/** What one change of an order adds to its hour and cell's rollup. */
export interface StatsDelta {
  hourMs: number;
  cell: string;
  placed: number;
  delivered: number;
  cancelled: number;
  unassigned: number;
  routeM: number;
  latencies: { metric: LatencyMetric; bucket: number }[];
}

export const emptyDelta = (facts: Pick<OrderFacts, 'hourMs' | 'cell'>): StatsDelta => ({
  hourMs: facts.hourMs,
  cell: facts.cell,
  placed: 0,
  delivered: 0,
  cancelled: 0,
  unassigned: 0,
  routeM: 0,
  latencies: [],
});

export function isEmptyDelta(d: StatsDelta): boolean {
  return d.placed + d.delivered + d.cancelled + d.unassigned === 0 && d.routeM === 0 && d.latencies.length === 0;
}

function firstAt(view: OrderView, status: OrderStatus): number | null {
  let first: number | null = null;
  for (const entry of view.timeline) {
    if (entry.status !== status) continue;
    const at = Date.parse(entry.at);
    if (first === null || at < first) first = at;
  }
  return first;
}

const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Folds an order as an event carried it into what was known of it: each stage
 * keeps the first time it was reached (the order's own timeline says when, so
 * events applied late, twice or out of order give the same facts), and the
 * delta says what became newly known (its report counts each once).
 */
export function foldOrder(prev: OrderFacts | null, view: OrderView): { facts: OrderFacts; delta: StatsDelta } {
  const placedAtMs = prev?.placedAtMs ?? Date.parse(view.createdAt);
  const base: OrderFacts = prev ?? {
    orderId: view.id,
    placedAtMs,
    hourMs: Math.floor(placedAtMs / HOUR_MS) * HOUR_MS,
    cell: latLngToCell(view.pickup.lat, view.pickup.lng, REPORT_H3_RESOLUTION),
    courierId: null,
    assignedAtMs: null,
    pickedUpAtMs: null,
    deliveredAtMs: null,
    cancelledAtMs: null,
    unassignedAtMs: null,
    routeM: 0,
  };
  const facts: OrderFacts = {
    ...base,
    courierId: view.courierId ?? base.courierId,
    assignedAtMs: earliest(base.assignedAtMs, firstAt(view, 'assigned')),
    pickedUpAtMs: earliest(base.pickedUpAtMs, firstAt(view, 'picked_up')),
    deliveredAtMs: earliest(base.deliveredAtMs, firstAt(view, 'delivered')),
    cancelledAtMs: earliest(base.cancelledAtMs, firstAt(view, 'cancelled')),
    unassignedAtMs: earliest(base.unassignedAtMs, firstAt(view, 'unassigned')),
  };
  const delta = emptyDelta(facts);
  if (prev === null) delta.placed = 1;
  const became = (before: number | null, after: number | null) => before === null && after !== null;
  const since = (at: number) => (at - facts.placedAtMs) / 1000;
  if (became(base.assignedAtMs, facts.assignedAtMs)) {
    delta.latencies.push({ metric: 0, bucket: bucketOf(since(facts.assignedAtMs as number)) });
  }
  if (became(base.pickedUpAtMs, facts.pickedUpAtMs)) {
    delta.latencies.push({ metric: 1, bucket: bucketOf(since(facts.pickedUpAtMs as number)) });
  }
  if (became(base.deliveredAtMs, facts.deliveredAtMs)) {
    delta.delivered = 1;
    delta.latencies.push({ metric: 2, bucket: bucketOf(since(facts.deliveredAtMs as number)) });
  }
  if (became(base.cancelledAtMs, facts.cancelledAtMs)) delta.cancelled = 1;
  if (became(base.unassignedAtMs, facts.unassignedAtMs)) delta.unassigned = 1;
  return { facts, delta };
}

/** A position of a courier as the archive takes it. */
export interface ArchivedFix {
  courierId: string;
  atMs: number;
  lat: number;
  lng: number;
}

/** Whether a courier's position at `atMs` belongs to this order: from its assignment until it ended. */
export function onOrder(facts: OrderFacts, courierId: string, atMs: number): boolean {
  if (facts.courierId !== courierId || facts.assignedAtMs === null || atMs < facts.assignedAtMs) return false;
  const end = endOf(facts);
  return end === null || atMs <= end;
}

/** When the order stopped being its courier's: delivered or cancelled; null while it is open. */
export function endOf(facts: OrderFacts): number | null {
  return facts.deliveredAtMs ?? facts.cancelledAtMs;
}

/**
 * A delivered order's route from its trail (the positions kept for it, oldest
 * first), and what that changes in its rollup; an open or cancelled order's
 * route counts nowhere yet. Computed from all of the trail each time, so
 * positions arriving late or out of order give the same length.
 */
export function withRoute(
  facts: OrderFacts,
  trail: readonly { lat: number; lng: number }[],
): { facts: OrderFacts; delta: StatsDelta } {
  const routeM = trail.slice(1).reduce((sum, point, i) => sum + haversineM(trail[i] as typeof point, point), 0);
  const delta = emptyDelta(facts);
  if (facts.deliveredAtMs === null) return { facts, delta };
  delta.routeM = routeM - facts.routeM;
  return { facts: { ...facts, routeM }, delta };
}

/** Great-circle distance in metres. */
export function haversineM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  return distance([a.lng, a.lat], [b.lng, b.lat], { units: 'meters' });
}
