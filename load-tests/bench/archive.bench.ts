/**
 * The route log's figures for `npm run bench`:
 * - how far the archive runs behind the order events of a run (its lag: when each event reached
 *   PostgreSQL minus when it happened), read from the run's own schema;
 * - how long the dispatch report takes over a day of 10x traffic: a schema of its own holding the
 *   rollups such a day leaves (the report reads only those), per hour and per area.
 *
 * Alone: `npm run bench:archive` (the report query only).
 */
import { PgRouteArchive } from '@mesh/archive';
import { REPORT_H3_RESOLUTION } from '@mesh/contracts';
import { gridDisk, latLngToCell } from 'h3-js';
import { Client } from 'pg';
import { dropSchema, migrateSchema, testSchema } from '@mesh/harness';

const HOUR = 3_600_000;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://mesh@127.0.0.1:5432/mesh';

export interface ArchiveLag {
  events: number;
  p50S: number;
  p99S: number;
  maxS: number;
}

/** The archive's lag over a run's order events, from its schema. */
export async function archiveLag(url: string, schema: string): Promise<ArchiveLag> {
  const db = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await db.connect();
  try {
    const { rows } = await db.query<{ events: string; p50: number; p99: number; max: number }>(
      `SELECT count(*) AS events,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY lag) AS p99, max(lag) AS max
         FROM (SELECT extract(epoch FROM archived_at - at)::float8 AS lag FROM route_order_events) l`,
    );
    const r = rows[0];
    return { events: Number(r?.events ?? 0), p50S: r?.p50 ?? NaN, p99S: r?.p99 ?? NaN, maxS: r?.max ?? NaN };
  } finally {
    await db.end();
  }
}

export interface ReportQueryFigures {
  orders: number;
  cells: number;
  statsRows: number;
  latencyRows: number;
  byHourMs: number[];
  byAreaMs: number[];
}

/**
 * A day at the bench's 10x: 20 orders/s with 10 s bursts to 200/s every 30 s is 80/s on
 * average, 6.9 million orders, here over the 217 H3 cells (resolution 7, about 1,100 km²)
 * around Berlin, more in the lunch and dinner hours. The rollups get what the archive
 * would write for them: counts per hour and cell, and latency histograms of about 40
 * buckets per metric.
 */
async function seedDay(db: Client, dayMs: number): Promise<{ orders: number; cells: number }> {
  const cells = gridDisk(latLngToCell(52.52, 13.405, REPORT_H3_RESOLUTION), 8);
  const ordersPerDay = 80 * 86_400;
  // Relative weight of each hour of the day (UTC): quiet at night, peaks at lunch and dinner.
  const profile = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 14, 16, 12, 8, 7, 8, 11, 14, 12, 8, 5, 3, 2];
  const weight = profile.reduce((a, b) => a + b, 0);
  const perCellHour = profile.map((w) => Math.round((ordersPerDay * w) / weight / cells.length));
  await db.query(
    `INSERT INTO dispatch_stats (hour, cell, placed, delivered, cancelled, unassigned, route_m)
     SELECT to_timestamp($1::float8 / 1000) + (h.i - 1) * interval '1 hour', c.cell, h.n,
            (h.n * 0.95)::int, (h.n * 0.03)::int, (h.n * 0.02)::int, h.n * 0.95 * 3200
       FROM unnest($2::int[]) WITH ORDINALITY AS h(n, i), unnest($3::text[]) AS c(cell)`,
    [dayMs, perCellHour, cells],
  );
  // Each metric's samples over ~40 buckets around its typical latency (dispatch ~2 s, pick-up ~10 min, delivery ~25 min).
  await db.query(
    `INSERT INTO dispatch_latency (hour, cell, metric, bucket, n)
     SELECT s.hour, s.cell, m.metric, m.centre + b.k, greatest(1, (s.placed / 40.0 * (1 - abs(b.k) / 21.0))::int)
       FROM dispatch_stats s
      CROSS JOIN (VALUES (0, 80), (1, 160), (2, 170)) AS m(metric, centre)
      CROSS JOIN generate_series(-20, 19) AS b(k)
      WHERE s.hour >= to_timestamp($1::float8 / 1000) AND s.hour < to_timestamp($1::float8 / 1000) + interval '1 day'`,
    [dayMs],
  );
  return { orders: perCellHour.reduce((a, b) => a + b, 0) * cells.length, cells: cells.length };
}

/** Times the dispatch report over a seeded day of 10x, `repeat` times per grouping. */
export async function reportQueryFigures(repeat = 7): Promise<ReportQueryFigures> {
  const schema = testSchema('bench_report');
  await migrateSchema(DATABASE_URL, schema);
  const db = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await db.connect();
  const archive = new PgRouteArchive({ url: DATABASE_URL, schema });
  try {
    const dayMs = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - 24 * HOUR;
    const { orders, cells } = await seedDay(db, dayMs);
    await db.query('ANALYZE dispatch_stats; ANALYZE dispatch_latency');
    const count = async (table: string) =>
      Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
    const time = async (groupBy: 'hour' | 'area') => {
      const took: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const started = performance.now();
        const rows = await archive.dispatchReport({ fromMs: dayMs, toMs: dayMs + 24 * HOUR, groupBy });
        took.push(performance.now() - started);
        if (rows.reduce((n, r) => n + r.placed, 0) !== orders) throw new Error('the report does not add up to the day');
      }
      return took;
    };
    return {
      orders,
      cells,
      statsRows: await count('dispatch_stats'),
      latencyRows: await count('dispatch_latency'),
      byHourMs: await time('hour'),
      byAreaMs: await time('area'),
    };
  } finally {
    await archive.close();
    await db.end();
    await dropSchema(DATABASE_URL, schema);
  }
}

if (require.main === module) {
  reportQueryFigures()
    .then((f) => {
      const fmt = (xs: number[]) => {
        const s = [...xs].sort((a, b) => a - b);
        return `median ${s[Math.floor(s.length / 2)]?.toFixed(0)} ms (${s[0]?.toFixed(0)}–${s.at(-1)?.toFixed(0)})`;
      };
      process.stdout.write(
        `[bench] dispatch report over a day of 10x (${f.orders.toLocaleString('en')} orders, ${f.cells} cells; ${f.statsRows} count rows, ${f.latencyRows} histogram rows):\n` +
          `  per hour: ${fmt(f.byHourMs)}\n  per area: ${fmt(f.byAreaMs)}\n`,
      );
    })
    .catch((err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
