import { DISPATCH_REPORT_COLUMNS, type DispatchReportRow } from '@mesh/contracts';
import { addTo, quantileS, type Histogram } from './histogram';
import type { LatencyMetric } from './order-facts';

const HOUR_MS = 3_600_000;

/** The hours a report covers: from the start of `from`'s hour up to `to`. */
export function reportHours(fromMs: number, toMs: number): { fromHourMs: number; toMs: number } {
  return { fromHourMs: Math.floor(fromMs / HOUR_MS) * HOUR_MS, toMs };
}

/** A report row being summed from the rollups of its hours or cells. */
export class ReportAccumulator {
  private readonly rows = new Map<
    string,
    { placed: number; delivered: number; cancelled: number; unassigned: number; routeM: number; latency: Histogram[] }
  >();

  private row(key: string) {
    let row = this.rows.get(key);
    if (!row) {
      row = {
        placed: 0,
        delivered: 0,
        cancelled: 0,
        unassigned: 0,
        routeM: 0,
        latency: [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()],
      };
      this.rows.set(key, row);
    }
    return row;
  }

  addCounts(
    key: string,
    c: { placed: number; delivered: number; cancelled: number; unassigned: number; routeM: number },
  ): void {
    const row = this.row(key);
    row.placed += c.placed;
    row.delivered += c.delivered;
    row.cancelled += c.cancelled;
    row.unassigned += c.unassigned;
    row.routeM += c.routeM;
  }

  addLatency(key: string, metric: LatencyMetric, bucket: number, n: number): void {
    addTo(this.row(key).latency[metric] as Histogram, bucket, n);
  }

  /** The rows in key order (hours as ISO times sort in time order). */
  rowsOut(): DispatchReportRow[] {
    return [...this.rows.entries()]
      .filter(([, r]) => r.placed > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, r]) => {
        const [dispatch, toPickup, toDelivery] = r.latency as [Histogram, Histogram, Histogram];
        return {
          key,
          placed: r.placed,
          delivered: r.delivered,
          cancelled: r.cancelled,
          unassigned: r.unassigned,
          dispatchP50S: quantileS(dispatch, 0.5),
          dispatchP95S: quantileS(dispatch, 0.95),
          dispatchP99S: quantileS(dispatch, 0.99),
          toPickupP50S: quantileS(toPickup, 0.5),
          toDeliveryP50S: quantileS(toDelivery, 0.5),
          distanceMPerDelivery: r.delivered > 0 ? Math.round(r.routeM / r.delivered) : null,
        };
      });
  }
}

export const hourKey = (hourMs: number) => new Date(hourMs).toISOString();

/** A report as CSV (API.md): a header row naming the columns, then one line per row; empty cells for nulls. */
export function dispatchReportCsv(rows: readonly DispatchReportRow[]): string {
  const cell = (v: string | number | null) => {
    if (v === null) return '';
    const text = String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [DISPATCH_REPORT_COLUMNS.join(',')];
  for (const row of rows) lines.push(DISPATCH_REPORT_COLUMNS.map((c) => cell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
