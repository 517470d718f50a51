import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSeries, seriesChartSvg } from './k6-series';

const HEADER =
  'metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata';
const row = (metric: string, t: number, value: number, name = '') =>
  `${metric},${t},${value},,,,true,,POST,${name},HTTP/1.1,customers,,202,,,http://x/v1/orders,,`;

describe('k6 run series', () => {
  it('folds the CSV into windows: accepted orders per second and latency percentiles', async () => {
    const rows = [HEADER];
    for (let i = 0; i < 100; i++) {
      rows.push(row('orders_accepted', 1000 + (i % 5), 1));
      rows.push(row('http_req_duration', 1000 + (i % 5), i + 1, 'place-order'));
      rows.push(row('dispatch_latency', 1000 + (i % 5), 10 * (i + 1)));
    }
    rows.push(row('http_req_duration', 1001, 9_999, 'availability')); // another request: not counted
    for (let i = 0; i < 10; i++) rows.push(row('orders_accepted', 1005, 1));
    const file = join(mkdtempSync(join(tmpdir(), 'series-')), 'k6.csv');
    writeFileSync(file, rows.join('\n'));

    const series = await readSeries(file, 5);
    expect(series.map((w) => [w.t, w.ordersPerS])).toEqual([
      [0, 20],
      [5, 2],
    ]);
    expect(series.map((w) => w.atS)).toEqual([1000, 1005]);
    expect(series[0]).toMatchObject({ placeP95Ms: 96, placeP99Ms: 100, dispatchP95Ms: 960, dispatchP99Ms: 1000 });

    const svg = seriesChartSvg(series, 'a <run>');
    expect(svg).toContain('a &lt;run&gt;');
    expect(svg.match(/<rect /g)?.length).toBe(1 + series.length);
  });
});
