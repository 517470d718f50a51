import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { percentile } from './figures';

/** One window of a k6 run, from its CSV output. */
export interface WindowFigures {
  /** Seconds since the run's first sample. */
  t: number;
  /** When the window starts (Unix seconds). */
  atS: number;
  ordersPerS: number;
  placeP95Ms: number;
  placeP99Ms: number;
  dispatchP95Ms: number;
  dispatchP99Ms: number;
}

/**
 * Reads k6's `--out csv` file and folds it into windows of `windowS` seconds:
 * accepted orders per second, and p95/p99 of the place-order request and of
 * dispatch latency (order accepted → offer on the courier's socket).
 */
export async function readSeries(csvFile: string, windowS = 5): Promise<WindowFigures[]> {
  const lines = createInterface({ input: createReadStream(csvFile), crlfDelay: Infinity });
  let header: string[] | null = null;
  const buckets = new Map<number, { orders: number; place: number[]; dispatch: number[] }>();
  let first = Infinity;
  for await (const line of lines) {
    const cols = line.split(',');
    if (!header) {
      header = cols;
      continue;
    }
    const [metric, timestamp, value] = [cols[0], Number(cols[1]), Number(cols[2])];
    const name = cols[header.indexOf('name')];
    const relevant =
      metric === 'dispatch_latency' ||
      metric === 'orders_accepted' ||
      (metric === 'http_req_duration' && name === 'place-order');
    if (!relevant) continue;
    first = Math.min(first, timestamp);
    const key = Math.floor(timestamp / windowS) * windowS;
    const bucket = buckets.get(key) ?? { orders: 0, place: [], dispatch: [] };
    if (metric === 'orders_accepted') bucket.orders += value;
    else if (metric === 'dispatch_latency') bucket.dispatch.push(value);
    else bucket.place.push(value);
    buckets.set(key, bucket);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([key, b]) => {
      const place = b.place.sort((x, y) => x - y);
      const dispatch = b.dispatch.sort((x, y) => x - y);
      return {
        t: key - Math.floor(first / windowS) * windowS,
        atS: key,
        ordersPerS: b.orders / windowS,
        placeP95Ms: percentile(place, 95),
        placeP99Ms: percentile(place, 99),
        dispatchP95Ms: percentile(dispatch, 95),
        dispatchP99Ms: percentile(dispatch, 99),
      };
    });
}

/** A chart of the rate (bars, left axis) and latency percentiles (lines, right axis) over time, as SVG. */
export function seriesChartSvg(series: readonly WindowFigures[], title: string): string {
  const W = 960;
  const H = 420;
  const pad = { left: 60, right: 70, top: 40, bottom: 64 };
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const tMax = Math.max(1, ...series.map((s) => s.t)) + 5;
  const rateMax = niceCeil(Math.max(1, ...series.map((s) => s.ordersPerS)));
  const latencies = series
    .flatMap((s) => [s.placeP99Ms, s.dispatchP99Ms, s.placeP95Ms, s.dispatchP95Ms])
    .filter(Number.isFinite);
  const msMax = niceCeil(Math.max(10, ...latencies));
  const x = (t: number) => pad.left + (t / tMax) * plotW;
  const yRate = (r: number) => pad.top + plotH - (r / rateMax) * plotH;
  const yMs = (ms: number) => pad.top + plotH - (Math.min(ms, msMax) / msMax) * plotH;
  const line = (pick: (s: WindowFigures) => number, colour: string, dash = '') => {
    const points = series
      .filter((s) => Number.isFinite(pick(s)))
      .map((s) => `${x(s.t + 2.5).toFixed(1)},${yMs(pick(s)).toFixed(1)}`);
    return points.length
      ? `<polyline fill="none" stroke="${colour}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ''} points="${points.join(' ')}"/>`
      : '';
  };
  const barW = Math.max(1, (5 / tMax) * plotW - 1);
  const bars = series.map(
    (s) =>
      `<rect x="${x(s.t).toFixed(1)}" y="${yRate(s.ordersPerS).toFixed(1)}" width="${barW.toFixed(1)}" height="${(pad.top + plotH - yRate(s.ordersPerS)).toFixed(1)}" fill="#c9d7f2"/>`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = pad.top + plotH - f * plotH;
    return `<line x1="${pad.left}" x2="${W - pad.right}" y1="${y}" y2="${y}" stroke="#e3e6ec"/><text x="${pad.left - 8}" y="${y + 4}" text-anchor="end">${Math.round(f * rateMax)}</text><text x="${W - pad.right + 8}" y="${y + 4}">${Math.round(f * msMax)} ms</text>`;
  });
  const xTicks = Array.from({ length: Math.floor(tMax / 10) + 1 }, (_, i) => i * 10).map(
    (t) => `<text x="${x(t).toFixed(1)}" y="${pad.top + plotH + 14}" text-anchor="middle">${t}</text>`,
  );
  const legend = [
    ['#c9d7f2', 'orders/s accepted (bars)', ''],
    ['#d64545', 'dispatch p99', ''],
    ['#d69e2e', 'dispatch p95', '5 3'],
    ['#1d2330', 'place-order p99', ''],
    ['#6b7385', 'place-order p95', '5 3'],
  ].map(
    ([colour, label, dash], i) =>
      `<g transform="translate(${pad.left + i * 170},${H - 18})"><line x1="0" x2="22" y1="-4" y2="-4" stroke="${colour}" stroke-width="${i === 0 ? 8 : 2}" ${dash ? `stroke-dasharray="${dash}"` : ''}/><text x="28" y="0">${label}</text></g>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" fill="#1d2330">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${pad.left}" y="24" font-size="15" font-weight="600">${escapeXml(title)}</text>`,
    ...ticks,
    ...xTicks,
    ...bars,
    line((s) => s.placeP95Ms, '#6b7385', '5 3'),
    line((s) => s.placeP99Ms, '#1d2330'),
    line((s) => s.dispatchP95Ms, '#d69e2e', '5 3'),
    line((s) => s.dispatchP99Ms, '#d64545'),
    `<text x="${pad.left + plotW / 2}" y="${pad.top + plotH + 30}" text-anchor="middle">seconds into the run</text>`,
    ...legend,
    '</svg>',
  ].join('\n');
}

function niceCeil(n: number): number {
  const power = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= n) ?? 10 * power;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}
