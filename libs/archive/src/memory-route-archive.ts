import type { DispatchReportRow } from '@mesh/contracts';
import {
  endOf,
  foldOrder,
  onOrder,
  withRoute,
  type ArchivedFix,
  type OrderFacts,
  type StatsDelta,
} from './order-facts';
import { ReportAccumulator, hourKey, reportHours } from './report-rows';
import {
  RouteArchive,
  type ArchivedOrderEvent,
  type PositionsRecorded,
  type ReportQuery,
  type TrailPoint,
} from './route-archive.port';

interface Rollup {
  hourMs: number;
  cell: string;
  counts: { placed: number; delivered: number; cancelled: number; unassigned: number; routeM: number };
  /** `${metric}:${bucket}` → count */
  latency: Map<string, number>;
}

/** The route log in this process's memory (the embedded default and small tests). */
export class MemoryRouteArchive extends RouteArchive {
  private readonly events = new Map<string, { atMs: number; orderId: string }>();
  private readonly orders = new Map<string, OrderFacts>();
  /** courier → the orders it was assigned */
  private readonly ordersOf = new Map<string, Set<string>>();
  /** courier → positions by time */
  private readonly positions = new Map<string, Map<number, TrailPoint>>();
  private readonly rollups = new Map<string, Rollup>();

  recordOrderEvents(events: readonly ArchivedOrderEvent[]): Promise<number> {
    let recorded = 0;
    for (const event of events) {
      if (this.events.has(event.eventId)) continue;
      this.events.set(event.eventId, { atMs: Date.parse(event.at), orderId: event.order.id });
      recorded += 1;
      const prev = this.orders.get(event.order.id) ?? null;
      const { facts, delta } = foldOrder(prev, event.order);
      this.orders.set(facts.orderId, facts);
      if (facts.courierId !== null) {
        this.ordersOf.set(facts.courierId, (this.ordersOf.get(facts.courierId) ?? new Set()).add(facts.orderId));
      }
      this.apply(delta);
      const end = endOf(facts);
      if (end !== null && (prev === null || endOf(prev) === null)) {
        // Positions kept while the archive did not know the order had ended, from after its end, are not on it.
        for (const trail of this.positions.values()) {
          for (const [at, p] of trail) if (p.orderId === facts.orderId && at > end) trail.delete(at);
        }
        this.reroute(facts.orderId);
      }
    }
    return Promise.resolve(recorded);
  }

  recordPositions(fixes: readonly ArchivedFix[]): Promise<PositionsRecorded> {
    const added = new Map<string, ArchivedFix[]>();
    const unmatched: ArchivedFix[] = [];
    for (const fix of fixes) {
      const order = [...(this.ordersOf.get(fix.courierId) ?? [])]
        .map((id) => this.orders.get(id))
        .find((o) => o !== undefined && onOrder(o, fix.courierId, fix.atMs));
      const trail = this.positions.get(fix.courierId) ?? new Map<number, TrailPoint>();
      if (!order) unmatched.push(fix);
      if (!order || trail.has(fix.atMs)) continue;
      trail.set(fix.atMs, { atMs: fix.atMs, lat: fix.lat, lng: fix.lng, orderId: order.orderId });
      this.positions.set(fix.courierId, trail);
      added.set(order.orderId, [...(added.get(order.orderId) ?? []), fix]);
    }
    for (const orderId of added.keys()) this.reroute(orderId);
    return Promise.resolve({ kept: [...added.values()].reduce((n, f) => n + f.length, 0), unmatched });
  }

  knownAssigned(orderIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(orderIds.filter((id) => (this.orders.get(id)?.assignedAtMs ?? null) !== null)));
  }

  dispatchReport(query: ReportQuery): Promise<DispatchReportRow[]> {
    const { fromHourMs, toMs } = reportHours(query.fromMs, query.toMs);
    const report = new ReportAccumulator();
    for (const r of this.rollups.values()) {
      if (r.hourMs < fromHourMs || r.hourMs >= toMs) continue;
      const key = query.groupBy === 'hour' ? hourKey(r.hourMs) : r.cell;
      report.addCounts(key, r.counts);
      for (const [mb, n] of r.latency) {
        const [metric, bucket] = mb.split(':').map(Number) as [0 | 1 | 2, number];
        report.addLatency(key, metric, bucket, n);
      }
    }
    return Promise.resolve(report.rowsOut());
  }

  trail(courierId: string, fromMs: number, toMs: number): Promise<TrailPoint[]> {
    const points = [...(this.positions.get(courierId)?.values() ?? [])];
    return Promise.resolve(points.filter((p) => p.atMs >= fromMs && p.atMs < toMs).sort((a, b) => a.atMs - b.atMs));
  }

  trimBefore(beforeMs: number): Promise<number> {
    let removed = 0;
    for (const [id, e] of this.events) if (e.atMs < beforeMs && this.events.delete(id)) removed += 1;
    for (const [id, o] of this.orders) {
      if (o.placedAtMs >= beforeMs) continue;
      this.orders.delete(id);
      if (o.courierId !== null) this.ordersOf.get(o.courierId)?.delete(id);
      removed += 1;
    }
    for (const trail of this.positions.values()) {
      for (const at of trail.keys()) if (at < beforeMs && trail.delete(at)) removed += 1;
    }
    return Promise.resolve(removed);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** A delivered order's route from its trail as it now stands. */
  private reroute(orderId: string): void {
    const facts = this.orders.get(orderId) as OrderFacts;
    if (facts.deliveredAtMs === null || facts.courierId === null) return;
    const trail = [...(this.positions.get(facts.courierId)?.values() ?? [])]
      .filter((p) => p.orderId === orderId)
      .sort((a, b) => a.atMs - b.atMs);
    const routed = withRoute(facts, trail);
    this.orders.set(orderId, routed.facts);
    this.apply(routed.delta);
  }

  private apply(delta: StatsDelta): void {
    const id = `${delta.hourMs}:${delta.cell}`;
    let r = this.rollups.get(id);
    if (!r) {
      r = {
        hourMs: delta.hourMs,
        cell: delta.cell,
        counts: { placed: 0, delivered: 0, cancelled: 0, unassigned: 0, routeM: 0 },
        latency: new Map(),
      };
      this.rollups.set(id, r);
    }
    r.counts.placed += delta.placed;
    r.counts.delivered += delta.delivered;
    r.counts.cancelled += delta.cancelled;
    r.counts.unassigned += delta.unassigned;
    r.counts.routeM += delta.routeM;
    for (const { metric, bucket } of delta.latencies) {
      r.latency.set(`${metric}:${bucket}`, (r.latency.get(`${metric}:${bucket}`) ?? 0) + 1);
    }
  }
}
