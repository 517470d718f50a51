import DataLoader from 'dataloader';
import { Pool, type PoolClient } from 'pg';
import type { DispatchReportRow } from '@mesh/contracts';
import { endOf, foldOrder, withRoute, type ArchivedFix, type OrderFacts, type StatsDelta } from './order-facts';
import { ReportAccumulator, hourKey, reportHours } from './report-rows';
import {
  RouteArchive,
  type ArchivedOrderEvent,
  type PositionsRecorded,
  type ReportQuery,
  type TrailPoint,
} from './route-archive.port';

/** What became of one position: kept now, kept before, or on no order of its courier. */
type FixOutcome = 'kept' | 'duplicate' | 'unmatched';

export interface PgArchiveOptions {
  url: string;
  /** The schema its tables are in (tests use one each). */
  schema: string;
  /** Connections at most. */
  poolSize?: number;
}

/** Rows one statement writes at most (jsonb_to_recordset's input stays well under a megabyte). */
const MAX_PER_BATCH = 500;

/** Times a transaction is tried when PostgreSQL aborts it to break a deadlock or a serialization conflict. */
const TX_ATTEMPTS = 6;
/** deadlock_detected, serialization_failure. */
const RETRYABLE = new Set(['40P01', '40001']);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const msOf = (d: Date | null) => (d === null ? null : d.getTime());

interface OrderRow {
  order_id: string;
  placed_at: Date;
  hour: Date;
  cell: string;
  courier_id: string | null;
  assigned_at: Date | null;
  picked_up_at: Date | null;
  delivered_at: Date | null;
  cancelled_at: Date | null;
  unassigned_at: Date | null;
  route_m: number;
}

function factsOf(row: OrderRow): OrderFacts {
  return {
    orderId: row.order_id,
    placedAtMs: row.placed_at.getTime(),
    hourMs: row.hour.getTime(),
    cell: row.cell,
    courierId: row.courier_id,
    assignedAtMs: msOf(row.assigned_at),
    pickedUpAtMs: msOf(row.picked_up_at),
    deliveredAtMs: msOf(row.delivered_at),
    cancelledAtMs: msOf(row.cancelled_at),
    unassignedAtMs: msOf(row.unassigned_at),
    routeM: row.route_m,
  };
}

function rowOf(f: OrderFacts) {
  return {
    order_id: f.orderId,
    courier_id: f.courierId,
    assigned_at: iso(f.assignedAtMs),
    picked_up_at: iso(f.pickedUpAtMs),
    delivered_at: iso(f.deliveredAtMs),
    cancelled_at: iso(f.cancelledAtMs),
    unassigned_at: iso(f.unassignedAtMs),
    route_m: f.routeM,
  };
}

/**
 * The route log in PostgreSQL (infra/postgres/migrations). Events and positions
 * recorded in the same tick share one transaction: the raw rows go in with
 * ON CONFLICT DO NOTHING, and only the rows that were new move the per-order
 * facts (locked while folded) and the hourly rollups the reports read, so a
 * replay changes nothing.
 */
export class PgRouteArchive extends RouteArchive {
  private readonly pool: Pool;
  private readonly events = new DataLoader<ArchivedOrderEvent, boolean>(
    (batch) => this.tx((c) => this.writeOrderEvents(c, batch)),
    { cache: false, maxBatchSize: MAX_PER_BATCH },
  );
  private readonly fixes = new DataLoader<ArchivedFix, FixOutcome>(
    (batch) => this.tx((c) => this.writeFixes(c, batch)),
    {
      cache: false,
      maxBatchSize: MAX_PER_BATCH,
    },
  );

  constructor(options: PgArchiveOptions) {
    super();
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`not a schema name: ${options.schema}`);
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 8,
      options: `-c search_path=${options.schema}`,
      application_name: 'dispatch-mesh',
    });
    // An idle connection that drops (the server restarted) is replaced on the next query; the error must not crash the process.
    this.pool.on('error', () => undefined);
  }

  async recordOrderEvents(events: readonly ArchivedOrderEvent[]): Promise<number> {
    const fresh = await Promise.all(events.map((e) => this.events.load(e)));
    return fresh.filter(Boolean).length;
  }

  async recordPositions(fixes: readonly ArchivedFix[]): Promise<PositionsRecorded> {
    const outcomes = await Promise.all(fixes.map((f) => this.fixes.load(f)));
    return {
      kept: outcomes.filter((o) => o === 'kept').length,
      unmatched: fixes.filter((_, i) => outcomes[i] === 'unmatched'),
    };
  }

  async knownAssigned(orderIds: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ order_id: string }>(
      'SELECT order_id FROM route_orders WHERE order_id = ANY($1::text[]) AND assigned_at IS NOT NULL',
      [orderIds],
    );
    return new Set(rows.map((r) => r.order_id));
  }

  async dispatchReport(query: ReportQuery): Promise<DispatchReportRow[]> {
    const { fromHourMs, toMs } = reportHours(query.fromMs, query.toMs);
    const key = query.groupBy === 'hour' ? 'hour' : 'cell';
    const args = [iso(fromHourMs), iso(toMs)];
    const [counts, latency] = await Promise.all([
      this.pool.query<{
        key: Date | string;
        placed: string;
        delivered: string;
        cancelled: string;
        unassigned: string;
        route_m: number;
      }>(
        `SELECT ${key} AS key, sum(placed) AS placed, sum(delivered) AS delivered, sum(cancelled) AS cancelled,
                sum(unassigned) AS unassigned, sum(route_m) AS route_m
           FROM dispatch_stats WHERE hour >= $1 AND hour < $2 GROUP BY 1`,
        args,
      ),
      this.pool.query<{ key: Date | string; metric: 0 | 1 | 2; bucket: number; n: string }>(
        `SELECT ${key} AS key, metric, bucket, sum(n) AS n
           FROM dispatch_latency WHERE hour >= $1 AND hour < $2 GROUP BY 1, 2, 3`,
        args,
      ),
    ]);
    const keyOf = (k: Date | string) => (k instanceof Date ? hourKey(k.getTime()) : k);
    const report = new ReportAccumulator();
    for (const r of counts.rows) {
      report.addCounts(keyOf(r.key), {
        placed: Number(r.placed),
        delivered: Number(r.delivered),
        cancelled: Number(r.cancelled),
        unassigned: Number(r.unassigned),
        routeM: Number(r.route_m),
      });
    }
    for (const r of latency.rows) report.addLatency(keyOf(r.key), r.metric, r.bucket, Number(r.n));
    return report.rowsOut();
  }

  async trail(courierId: string, fromMs: number, toMs: number): Promise<TrailPoint[]> {
    const { rows } = await this.pool.query<{ at: Date; lat: number; lng: number; order_id: string }>(
      `SELECT at, lat, lng, order_id FROM route_positions
        WHERE courier_id = $1 AND at >= $2 AND at < $3 ORDER BY at`,
      [courierId, iso(fromMs), iso(toMs)],
    );
    return rows.map((r) => ({ atMs: r.at.getTime(), lat: r.lat, lng: r.lng, orderId: r.order_id }));
  }

  async trimBefore(beforeMs: number): Promise<number> {
    const before = iso(beforeMs);
    let removed = 0;
    for (const sql of [
      'DELETE FROM route_order_events WHERE at < $1',
      'DELETE FROM route_positions WHERE at < $1',
      'DELETE FROM route_orders WHERE placed_at < $1',
    ]) {
      removed += (await this.pool.query(sql, [before])).rowCount ?? 0;
    }
    return removed;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1 FROM route_orders LIMIT 0');
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /**
   * Runs `work` in one transaction, again from the start when PostgreSQL broke a deadlock by
   * aborting it (a batch of positions share-locks the orders they match in the order it meets
   * them, while a batch of events locks its orders to fold them). Every write is idempotent and
   * the aborted attempt left nothing, so running it again is safe.
   */
  private async tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.txOnce(work);
      } catch (err) {
        if (attempt >= TX_ATTEMPTS || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
        await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  private async txOnce<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async writeOrderEvents(c: PoolClient, batch: readonly ArchivedOrderEvent[]): Promise<boolean[]> {
    const inserted = await c.query<{ event_id: string }>(
      `INSERT INTO route_order_events (event_id, order_id, type, at, status, courier_id, data)
       SELECT x.event_id, x.order_id, x.type, x.at, x.status, x.courier_id, x.data
         FROM jsonb_to_recordset($1::jsonb)
           AS x(event_id text, order_id text, type text, at timestamptz, status text, courier_id text, data jsonb)
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [
        JSON.stringify(
          uniqueBy(batch, (e) => e.eventId).map((e) => ({
            event_id: e.eventId,
            order_id: e.order.id,
            type: e.type,
            at: e.at,
            status: e.order.status,
            courier_id: e.order.courierId,
            // The order as it became and the offer concerned; its timeline is left out, the events themselves are it.
            data: { order: { ...e.order, timeline: undefined }, offer: e.offer ?? null },
          })),
        ),
      ],
    );
    const freshIds = new Set(inserted.rows.map((r) => r.event_id));
    const answers = batch.map((e) => freshIds.has(e.eventId));
    const fresh = uniqueBy(
      batch.filter((e) => freshIds.has(e.eventId)),
      (e) => e.eventId,
    );
    if (fresh.length === 0) return answers;

    // An order seen for the first time gets its row here; the rows inserted say which orders are new.
    const seeds = uniqueBy(fresh, (e) => e.order.id).map((e) => foldOrder(null, e.order).facts);
    const created = await c.query<{ order_id: string }>(
      `INSERT INTO route_orders (order_id, placed_at, hour, cell)
       SELECT x.order_id, x.placed_at, x.hour, x.cell
         FROM jsonb_to_recordset($1::jsonb) AS x(order_id text, placed_at timestamptz, hour timestamptz, cell text)
        ORDER BY x.order_id
       ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
      [
        JSON.stringify(
          seeds.map((f) => ({ order_id: f.orderId, placed_at: iso(f.placedAtMs), hour: iso(f.hourMs), cell: f.cell })),
        ),
      ],
    );
    const isNew = new Set(created.rows.map((r) => r.order_id));
    const facts = await this.lockOrders(
      c,
      seeds.map((f) => f.orderId),
    );
    const deltas: StatsDelta[] = [];
    const openBefore = new Set([...facts.values()].filter((f) => endOf(f) === null).map((f) => f.orderId));
    for (const event of fresh) {
      const prev = facts.get(event.order.id) as OrderFacts;
      const { facts: next, delta } = foldOrder(prev, event.order);
      if (isNew.delete(next.orderId)) delta.placed = 1;
      facts.set(next.orderId, next);
      deltas.push(delta);
    }
    const ended = [...facts.values()].filter((f) => openBefore.has(f.orderId) && endOf(f) !== null);
    if (ended.length > 0) {
      // Positions kept while the archive did not know the order had ended, from after its end, are not on it.
      await c.query(
        `DELETE FROM route_positions p USING jsonb_to_recordset($1::jsonb) AS x(order_id text, end_at timestamptz)
          WHERE p.order_id = x.order_id AND p.at > x.end_at`,
        [JSON.stringify(ended.map((f) => ({ order_id: f.orderId, end_at: iso(endOf(f)) })))],
      );
      deltas.push(...(await this.reroute(c, ended, facts)));
    }
    await this.saveOrders(c, [...facts.values()]);
    await this.applyDeltas(c, deltas);
    return answers;
  }

  private async writeFixes(c: PoolClient, batch: readonly ArchivedFix[]): Promise<FixOutcome[]> {
    // Each position goes with the order its courier was on at that time, if any: the new ones come
    // back as kept, those on no order as unmatched (one already kept comes back as neither). The order
    // rows matched are share-locked, so a position never slips in beside the archiving of its order's end.
    const { rows } = await c.query<{
      kind: 'kept' | 'unmatched';
      courier_id: string;
      at: Date;
      lat: number;
      lng: number;
      order_id: string | null;
    }>(
      `WITH m AS (
         SELECT x.courier_id, x.at, x.lat, x.lng, o.order_id
           FROM jsonb_to_recordset($1::jsonb) AS x(courier_id text, at timestamptz, lat float8, lng float8)
           LEFT JOIN LATERAL (
             SELECT order_id FROM route_orders o
              WHERE o.courier_id = x.courier_id AND o.assigned_at <= x.at
                AND x.at <= coalesce(o.delivered_at, o.cancelled_at, 'infinity')
              ORDER BY o.assigned_at DESC LIMIT 1
                -- Held until commit: an order's end being archived meanwhile waits for this (and prunes what it
                -- keeps), or this waits for it and sees the end.
                FOR SHARE) o ON true),
       ins AS (
         INSERT INTO route_positions (courier_id, at, lat, lng, order_id)
         SELECT courier_id, at, lat, lng, order_id FROM m WHERE order_id IS NOT NULL
         ON CONFLICT (courier_id, at) DO NOTHING
         RETURNING courier_id, at, lat, lng, order_id)
       SELECT 'kept' AS kind, * FROM ins
       UNION ALL SELECT 'unmatched', courier_id, at, lat, lng, NULL FROM m WHERE order_id IS NULL`,
      [
        JSON.stringify(
          uniqueBy(batch, (f) => `${f.courierId}@${f.atMs}`).map((f) => ({
            courier_id: f.courierId,
            at: iso(f.atMs),
            lat: f.lat,
            lng: f.lng,
          })),
        ),
      ],
    );
    const outcome = new Map(rows.map((r) => [`${r.courier_id}@${r.at.getTime()}`, r.kind]));
    const answers = batch.map((f): FixOutcome => outcome.get(`${f.courierId}@${f.atMs}`) ?? 'duplicate');
    const kept = rows.filter((r) => r.kind === 'kept');
    if (kept.length === 0) return answers;

    // A delivered order's route is its trail's length: positions arriving after the delivery was archived change it.
    const { rows: delivered } = await c.query<OrderRow>(
      `SELECT * FROM route_orders WHERE order_id = ANY($1::text[]) AND delivered_at IS NOT NULL
        ORDER BY order_id FOR UPDATE`,
      [[...new Set(kept.map((r) => r.order_id as string))]],
    );
    if (delivered.length === 0) return answers;
    const facts = new Map(delivered.map((r) => [r.order_id, factsOf(r)]));
    const deltas = await this.reroute(c, [...facts.values()], facts);
    await this.saveOrders(c, [...facts.values()]);
    await this.applyDeltas(c, deltas);
    return answers;
  }

  /** Delivered orders' routes from their trails as they now stand (into `facts`), and what that changes in the rollups. */
  private async reroute(
    c: PoolClient,
    orders: readonly OrderFacts[],
    facts: Map<string, OrderFacts>,
  ): Promise<StatsDelta[]> {
    const ids = orders.filter((f) => f.deliveredAtMs !== null).map((f) => f.orderId);
    if (ids.length === 0) return [];
    const { rows } = await c.query<{ order_id: string; lat: number; lng: number }>(
      'SELECT order_id, lat, lng FROM route_positions WHERE order_id = ANY($1::text[]) ORDER BY order_id, at',
      [ids],
    );
    const trails = new Map<string, { lat: number; lng: number }[]>();
    for (const r of rows) trails.set(r.order_id, [...(trails.get(r.order_id) ?? []), { lat: r.lat, lng: r.lng }]);
    return ids.map((id) => {
      const routed = withRoute(facts.get(id) as OrderFacts, trails.get(id) ?? []);
      facts.set(id, routed.facts);
      return routed.delta;
    });
  }

  /** The orders' facts, their rows locked until the transaction ends (in id order, so two batches never wait on each other in a circle). */
  private async lockOrders(c: PoolClient, ids: readonly string[]): Promise<Map<string, OrderFacts>> {
    const { rows } = await c.query<OrderRow>(
      'SELECT * FROM route_orders WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE',
      [ids],
    );
    return new Map(rows.map((r) => [r.order_id, factsOf(r)]));
  }

  private async saveOrders(c: PoolClient, facts: readonly OrderFacts[]): Promise<void> {
    await c.query(
      `UPDATE route_orders o SET courier_id = x.courier_id, assigned_at = x.assigned_at, picked_up_at = x.picked_up_at,
              delivered_at = x.delivered_at, cancelled_at = x.cancelled_at, unassigned_at = x.unassigned_at,
              route_m = x.route_m
         FROM jsonb_to_recordset($1::jsonb) AS x(order_id text, courier_id text, assigned_at timestamptz,
              picked_up_at timestamptz, delivered_at timestamptz, cancelled_at timestamptz, unassigned_at timestamptz,
              route_m float8)
        WHERE o.order_id = x.order_id`,
      [JSON.stringify(facts.map(rowOf))],
    );
  }

  /** Adds the deltas to the rollups, summed per row first (one statement may touch a row once), in key order. */
  private async applyDeltas(c: PoolClient, deltas: readonly StatsDelta[]): Promise<void> {
    const counts = new Map<
      string,
      {
        hour: string;
        cell: string;
        placed: number;
        delivered: number;
        cancelled: number;
        unassigned: number;
        route_m: number;
      }
    >();
    const latency = new Map<string, { hour: string; cell: string; metric: number; bucket: number; n: number }>();
    for (const d of deltas) {
      const hour = iso(d.hourMs) as string;
      const row = counts.get(`${hour} ${d.cell}`) ?? {
        hour,
        cell: d.cell,
        placed: 0,
        delivered: 0,
        cancelled: 0,
        unassigned: 0,
        route_m: 0,
      };
      row.placed += d.placed;
      row.delivered += d.delivered;
      row.cancelled += d.cancelled;
      row.unassigned += d.unassigned;
      row.route_m += d.routeM;
      counts.set(`${hour} ${d.cell}`, row);
      for (const { metric, bucket } of d.latencies) {
        const id = `${hour} ${d.cell} ${metric} ${bucket}`;
        const l = latency.get(id) ?? { hour, cell: d.cell, metric, bucket, n: 0 };
        l.n += 1;
        latency.set(id, l);
      }
    }
    const changed = [...counts.values()].filter(
      (r) => r.placed + r.delivered + r.cancelled + r.unassigned > 0 || r.route_m !== 0,
    );
    if (changed.length > 0) {
      await c.query(
        `INSERT INTO dispatch_stats AS s (hour, cell, placed, delivered, cancelled, unassigned, route_m)
         SELECT x.hour, x.cell, x.placed, x.delivered, x.cancelled, x.unassigned, x.route_m
           FROM jsonb_to_recordset($1::jsonb) AS x(hour timestamptz, cell text, placed int, delivered int,
                cancelled int, unassigned int, route_m float8)
          ORDER BY x.hour, x.cell
         ON CONFLICT (hour, cell) DO UPDATE SET placed = s.placed + excluded.placed,
              delivered = s.delivered + excluded.delivered, cancelled = s.cancelled + excluded.cancelled,
              unassigned = s.unassigned + excluded.unassigned, route_m = s.route_m + excluded.route_m`,
        [JSON.stringify(changed)],
      );
    }
    if (latency.size > 0) {
      await c.query(
        `INSERT INTO dispatch_latency AS l (hour, cell, metric, bucket, n)
         SELECT x.hour, x.cell, x.metric, x.bucket, x.n
           FROM jsonb_to_recordset($1::jsonb) AS x(hour timestamptz, cell text, metric smallint, bucket smallint, n int)
          ORDER BY x.hour, x.cell, x.metric, x.bucket
         ON CONFLICT (hour, cell, metric, bucket) DO UPDATE SET n = l.n + excluded.n`,
        [JSON.stringify([...latency.values()])],
      );
    }
  }
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
