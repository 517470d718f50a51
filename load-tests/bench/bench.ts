/**
 * npm run bench [-- --spike 10 --repeat 3 --duration 60s --couriers 2000 --search 12,16,20 --storm 2000 --rooms 4 --report 7
 *                   --topologies single,cluster]
 *
 * Replays the k6 scenarios against the real stack (gateway and functions as their
 * own processes on the real Kafka and Redis, a fresh stack per run) and writes a
 * report to artifacts/bench/<time>/: report.md, report.json, and lunch-spike.png
 * (orders/s against p95/p99 latency over time). For each run: orders/s held, HTTP
 * p50/p95/p99, dispatch p50/p95/p99, orders lost, dropped iterations, and the CPU
 * and memory of every process (gateway, functions, Kafka, Redis, k6, ffmpeg), and
 * what the stack's CPU costs per accepted order (per position for the location
 * storm): CPU seconds over the run divided by what was done; how far the route log
 * (PostgreSQL) ran behind the order events, and (`--report N`, 0 for none) N timings of
 * the dispatch report over a day of 10x traffic. `--repeat` runs the
 * `--spike` multiplier that many times and reports the spread (0: no lunch spike at all).
 * `--search` then tries other spike multipliers, up from `--spike` while they hold
 * or down from it until one does, and reports the highest one that holds with zero
 * lost orders and dispatch p99 ≤ 250 ms. `--topologies` runs the `--repeat` runs of `--spike`
 * on each topology named, side by side (the cluster one: a Redis Cluster, three brokers, two
 * gateways behind HAProxy and two functions workers, `infra:up -- --cluster`); the search, the
 * storm and the rooms run on the first. `--rates 0,5,20,60` runs the fleet with orders at each
 * constant rate (0: the fleet alone) and reports the stack's CPU once it is steady, and what an
 * order costs at that rate above the fleet alone (`--repeat 0 --search , --storm 0 --rooms 0
 * --report 0` for those alone).
 */
import { MeshClient } from '@mesh/client';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startStack, type RunningStack, type Topology } from '@mesh/harness';
import { readSeries, seriesChartSvg, type WindowFigures } from './k6-series';
import { findPids } from '@mesh/harness';
import { ProcessSampler, type ProcessFigures } from './process-sampler';
import {
  coresOver,
  cpuByPhase,
  marginalCost,
  type MarginalCost,
  type PhaseCost,
  type RunPhases,
} from './marginal-cost';
import { archiveLag, reportQueryFigures, type ArchiveLag, type ReportQueryFigures } from './archive.bench';

const ROOT = join(__dirname, '..', '..', '..');
const { values } = parseArgs({
  options: {
    spike: { type: 'string', default: '10' },
    duration: { type: 'string', default: '60s' },
    couriers: { type: 'string', default: '2000' },
    search: { type: 'string', default: '4,6,8,12,14,16,20,40' },
    storm: { type: 'string', default: '2000' },
    rooms: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '3' },
    report: { type: 'string', default: '7' },
    topologies: { type: 'string', default: 'single,cluster' },
    rates: { type: 'string', default: '' },
  },
});
/** The bar for the multiplier search (the issue's): nothing lost, dispatch p99 within this. */
const SEARCH_DISPATCH_P99_MS = 250;
const SETTLE_MS = 8_000;
/**
 * The steady runs (`--rates`): lunch-spike with no bursts for this long, measured from this many
 * seconds after k6 starts to this many before the orders end. Its couriers are online and
 * settled 15 s after the start, when the orders start (lunch-spike.js: RAMP_S + SETTLE_S).
 */
const STEADY_ORDERS_S = 60;
const STEADY_FROM_S = 30;
const STEADY_TO_S = 15 + STEADY_ORDERS_S - 5;
/** The k6 series' windows (seconds): the chart's, and those the CPU per order at the margin is fitted over. */
const SERIES_WINDOW_S = 5;
/** The stack's own processes: what an order costs is theirs (k6 is the load, ffmpeg the rooms; PostgreSQL holds the route log). */
const STACK = ['gateway', 'functions', 'kafka', 'redis', 'postgres', 'haproxy'];

const TOPOLOGIES = values.topologies.split(',').map((t) => {
  if (t !== 'single' && t !== 'cluster') throw new Error(`--topologies: single and/or cluster, not ${t}`);
  return t;
});
const RATES = values.rates
  .split(',')
  .filter(Boolean)
  .map((r) => {
    const rate = Number(r);
    if (!Number.isInteger(rate) || rate < 0) throw new Error(`--rates: whole orders per second, 0 or more, not ${r}`);
    return rate;
  });
/** The repeated runs' label; the first topology's (used by the search and the chart) names none. */
const baseLabel = (topology: Topology) =>
  `lunch-spike ${values.spike}x${topology === TOPOLOGIES[0] ? '' : ` on the ${topology} topology`}`;

type Trend = { med?: number; 'p(95)'?: number; 'p(99)'?: number };
type Metrics = Record<string, Trend & { count?: number; rate?: number; thresholds?: Record<string, boolean> }>;

interface Run {
  topology: Topology;
  scenario: string;
  label: string;
  thresholdsHeld: boolean;
  failedThresholds: string[];
  metrics: Metrics;
  processes: ProcessFigures[];
  lunch?: {
    accepted: number;
    stored: number;
    lost: number;
    stuck: number;
    peakOrdersPerS: number;
    series: WindowFigures[];
    /** How far the route log ran behind the run's order events. */
    archive: ArchiveLag;
    /** What one more order costs, apart from what the stack spends anyway (null: too few windows to tell). */
    marginal: MarginalCost | null;
    /** Where the run's CPU went: before, between and after the orders, in calm and in bursts. */
    phases: RunPhases | null;
  };
  /** A steady run (`--rates`): orders at one constant rate, the stack's CPU once it settled. */
  steady?: {
    ordersPerS: number;
    /** Seconds measured, and each process' CPU in them (share of one core, 1 = a core). */
    seconds: number;
    cores: Record<string, number>;
  };
}

async function runK6(
  stack: RunningStack,
  scenario: string,
  env: Record<string, string>,
  csv?: string,
): Promise<{ code: number | null; metrics: Metrics }> {
  const summary = join(mkdtempSync(join(tmpdir(), 'bench-k6-')), 'summary.json');
  const args = [scenario, '--quiet', '--summary-export', summary, ...(csv ? ['--out', `csv=${csv}`] : [])];
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  const k6 = spawn(join(ROOT, 'load-tests', 'run-k6.sh'), args, {
    env: { ...process.env, BASE_URL: stack.baseUrl, JWT_SECRET: String(stack.env.JWT_SECRET) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  k6.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => k6.once('exit', resolve));
  // 99: thresholds crossed (reported); anything else but 0 is a failed run.
  if (code !== 0 && code !== 99) throw new Error(`k6 ${scenario} exited ${code}: ${stderr}`);
  return { code, metrics: (JSON.parse(readFileSync(summary, 'utf8')) as { metrics: Metrics }).metrics };
}

/** Orders the stack holds for the run, and how many are still waiting for dispatch after the settle time. */
async function storedOrders(stack: RunningStack): Promise<{ stored: number; stuck: number }> {
  const dispatcher = new MeshClient({
    baseUrl: stack.baseUrl,
    token: await stack.token('bench-dispatcher', ['dispatcher']),
  });
  let stored = 0;
  let stuck = 0;
  for await (const order of dispatcher.orders.each({ limit: 100 })) {
    stored += 1;
    if (order.status === 'pending' || order.status === 'dispatching') stuck += 1;
  }
  return { stored, stuck };
}

async function measured(
  label: string,
  scenario: string,
  env: Record<string, string>,
  lunch: boolean,
  topology: Topology,
  steadyRate?: number,
): Promise<Run> {
  const stack = await startStack(
    {
      LOG_LEVEL: 'error',
      MIX_TEST_SOURCES: '1',
      MIX_OUTPUT_SIZE: '640x360',
      MIX_HLS_DIR: mkdtempSync(join(tmpdir(), 'bench-live-')),
    },
    topology,
  );
  const pids = (processes: readonly { child: { pid?: number } }[]) =>
    processes.flatMap((p) => (p.child.pid ? [p.child.pid] : []));
  // Both topologies' servers may be up (infra:up -- --cluster): only the run's own count.
  const cluster = topology === 'cluster';
  const sampler = new ProcessSampler({
    gateway: () => pids(stack.gateways),
    functions: () => pids(stack.functionsWorkers),
    haproxy: () => pids(stack.loadBalancer ? [stack.loadBalancer] : []),
    kafka: () =>
      findPids((argv) => argv.includes('kafka.Kafka') && argv.some((a) => a.includes('kafka-cluster')) === cluster),
    redis: () =>
      findPids((argv) => (argv[0]?.startsWith('redis-server') ?? false) && argv[0]!.includes('[cluster]') === cluster),
    postgres: () => findPids((argv) => /(^|\/)postgres( |:|$)/.test(argv[0] ?? '')),
    k6: () => findPids((argv) => argv[0]?.endsWith('/k6') ?? false),
    ffmpeg: () => findPids((argv) => argv[0]?.endsWith('ffmpeg') ?? false),
  });
  try {
    const csv = lunch ? join(mkdtempSync(join(tmpdir(), 'bench-csv-')), 'k6.csv') : undefined;
    process.stdout.write(`[bench] ${label}…\n`);
    sampler.start();
    const startedMs = Date.now();
    const { code, metrics } = await runK6(stack, scenario, env, csv);
    const processes = sampler.stop();
    const failedThresholds = Object.entries(metrics).flatMap(([name, m]) =>
      Object.entries(m.thresholds ?? {})
        .filter(([, failed]) => failed)
        .map(([rule]) => `${name} ${rule}`),
    );
    const run: Run = { topology, scenario, label, thresholdsHeld: code === 0, failedThresholds, metrics, processes };
    if (steadyRate !== undefined) {
      const window = coresOver(sampler.timeline(), startedMs + STEADY_FROM_S * 1000, startedMs + STEADY_TO_S * 1000);
      run.steady = { ordersPerS: steadyRate, ...window };
    }
    if (lunch && csv) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const accepted = metrics.orders_accepted?.count ?? 0;
      const { stored, stuck } = await storedOrders(stack);
      const series = await readSeries(csv, SERIES_WINDOW_S);
      run.lunch = {
        accepted,
        stored,
        lost: Math.max(0, accepted - stored),
        stuck,
        peakOrdersPerS: Math.max(0, ...series.map((s) => s.ordersPerS)),
        series,
        archive: await archiveLag(String(stack.env.DATABASE_URL), String(stack.env.DATABASE_SCHEMA)),
        marginal: marginalCost(series, sampler.timeline(), STACK, SERIES_WINDOW_S),
        phases: cpuByPhase(series, sampler.timeline(), STACK, SERIES_WINDOW_S),
      };
    }
    return run;
  } finally {
    sampler.stop();
    await stack.stop();
  }
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(v < 10 ? 1 : 0)}`);
const trio = (t: Trend | undefined) => `${ms(t?.med)} / ${ms(t?.['p(95)'])} / ${ms(t?.['p(99)'])}`;

/** CPU milliseconds per unit of work (an accepted order, an acknowledged position), per process and the stack's in all. */
function cpuPerUnit(run: Run): { unit: string; perProcess: Record<string, number>; stack: number } | null {
  const [unit, done] = run.lunch
    ? ['order', run.lunch.accepted]
    : run.scenario === 'location-storm'
      ? ['position', run.metrics.location_ack_latency?.count ?? 0]
      : ['', 0];
  if (!done) return null;
  const perProcess = Object.fromEntries(run.processes.map((p) => [p.name, (p.cpuSeconds * 1000) / done]));
  const stack = STACK.reduce((sum, name) => sum + (perProcess[name] ?? 0), 0);
  return { unit, perProcess, stack };
}

const spread = (values: number[], digits = 0) => {
  if (values.length === 0) return '—';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
  return `${median.toFixed(digits)} (${(sorted[0] as number).toFixed(digits)}–${(sorted.at(-1) as number).toFixed(digits)})`;
};

function markdown(runs: Run[], highest: { spike: number; run: Run } | null, day: ReportQueryFigures | null): string {
  const lunchRows = runs
    .filter((r) => r.lunch)
    .map((r) => {
      const l = r.lunch!;
      return `| ${r.label} | ${l.peakOrdersPerS.toFixed(0)} | ${l.accepted} / ${l.lost} / ${l.stuck} | ${trio(r.metrics['http_req_duration{name:place-order}'])} | ${trio(r.metrics.dispatch_latency)} | ${r.metrics.dropped_iterations?.count ?? 0} | ${r.thresholdsHeld ? 'held' : `**crossed**: ${r.failedThresholds.join('; ')}`} |`;
    });
  const otherRows = runs
    .filter((r) => !r.lunch && !r.steady)
    .map((r) => {
      const key = r.scenario === 'location-storm' ? r.metrics.location_ack_latency : r.metrics.stream_change_applied;
      const what =
        r.scenario === 'location-storm'
          ? 'location ack'
          : 'change applied (go-live p95 ' + ms(r.metrics.stream_go_live?.['p(95)']) + ' ms)';
      return `| ${r.label} | ${what} | ${trio(key)} | ${((r.metrics.http_req_failed?.rate ?? 0) * 100).toFixed(2)}% | ${r.thresholdsHeld ? 'held' : `**crossed**: ${r.failedThresholds.join('; ')}`} |`;
    });
  const costRows = runs.flatMap((r) => {
    const cost = cpuPerUnit(r);
    if (!cost) return [];
    const parts = [...STACK, 'k6'].map((name) => `${name} ${(cost.perProcess[name] ?? 0).toFixed(2)}`);
    return [`| ${r.label} | ${cost.unit} | **${cost.stack.toFixed(2)}** | ${parts.join(' · ')} |`];
  });
  // The repeated runs of the base multiplier, per topology: their spread, side by side.
  const spreadLines = TOPOLOGIES.flatMap((topology) => {
    const repeated = runs.filter((r) => r.topology === topology && r.label.startsWith(baseLabel(topology)));
    if (repeated.length === 0) return [];
    return [
      `- **${topology}**, ${repeated.length} run${repeated.length > 1 ? 's' : ''} of ${values.spike}x, median (min–max): dispatch p99 ${spread(repeated.map((r) => r.metrics.dispatch_latency?.['p(99)'] ?? NaN))} ms, place-order p99 ${spread(repeated.map((r) => r.metrics['http_req_duration{name:place-order}']?.['p(99)'] ?? NaN))} ms, stack CPU per order ${spread(
        repeated.map((r) => cpuPerUnit(r)?.stack ?? NaN),
        2,
      )} ms (at the margin ${spread(
        repeated.map((r) => r.lunch?.marginal?.stack.perOrderMs ?? NaN),
        2,
      )} ms), lost ${repeated.reduce((sum, r) => sum + (r.lunch?.lost ?? 0), 0)}.`,
    ];
  });
  const marginalRows = runs.flatMap((r) => {
    const m = r.lunch?.marginal;
    if (!m) return [];
    const line = (name: string) =>
      `${name} ${(m.byProcess[name]?.perOrderMs ?? 0).toFixed(2)} + ${(m.byProcess[name]?.withoutOrdersPct ?? 0).toFixed(0)}%`;
    return [
      `| ${r.label} | **${m.stack.perOrderMs.toFixed(2)}** | ${m.stack.withoutOrdersPct.toFixed(0)}% | ${[...STACK, 'k6'].map(line).join(' · ')} | ${m.windows}, R² ${m.r2.toFixed(2)} |`,
    ];
  });
  const phaseRows = runs.flatMap((r) => {
    const p = r.lunch?.phases;
    if (!p) return [];
    const total = Object.values(p).reduce((sum, part) => sum + part.cpuS, 0);
    const cell = (part: PhaseCost) =>
      part.seconds === 0
        ? '—'
        : `${part.seconds.toFixed(0)} s${part.orders > 0 ? ` at ${(part.orders / part.seconds).toFixed(0)} orders/s` : ''}: ${((part.cpuS / part.seconds) * 100).toFixed(0)}% of a core, ${part.cpuS.toFixed(1)} CPU-s (${((part.cpuS / total) * 100).toFixed(0)}%)${part.perOrderMs === null ? '' : `, ${part.perOrderMs.toFixed(1)} ms per order`}`;
    return [
      `| ${r.label} | ${cell(p.beforeOrders)} | ${cell(p.calm)} | ${cell(p.ramps)} | ${cell(p.bursts)} | ${cell(p.afterOrders)} |`,
    ];
  });
  const alone = runs.find((r) => r.steady?.ordersPerS === 0)?.steady;
  const stackCores = (cores: Record<string, number>) => STACK.reduce((sum, name) => sum + (cores[name] ?? 0), 0);
  const steadyRows = runs.flatMap((r) => {
    const st = r.steady;
    if (!st) return [];
    const above =
      alone && st.ordersPerS > 0
        ? `**${(((stackCores(st.cores) - stackCores(alone.cores)) / st.ordersPerS) * 1000).toFixed(1)}**`
        : '—';
    const parts = [...STACK, 'k6'].map((name) => `${name} ${((st.cores[name] ?? 0) * 100).toFixed(1)}%`);
    return [
      `| ${st.ordersPerS} | ${r.metrics.orders_accepted?.count ?? 0} | ${(stackCores(st.cores) * 100).toFixed(0)}% | ${parts.join(' · ')} | ${above} | ${r.metrics.dispatch_latency?.count ? `${ms(r.metrics.dispatch_latency.med)} / ${ms(r.metrics.dispatch_latency['p(99)'])}` : '—'} |`,
    ];
  });
  const archiveRows = runs.flatMap((r) =>
    r.lunch
      ? [
          `| ${r.label} | ${r.lunch.archive.events} | ${r.lunch.archive.p50S.toFixed(2)} / ${r.lunch.archive.p99S.toFixed(2)} / ${r.lunch.archive.maxS.toFixed(2)} |`,
        ]
      : [],
  );
  const daySection = day
    ? [
        `Dispatch report over a day of 10x (${day.orders.toLocaleString('en')} orders over ${day.cells} H3 cells: the ${day.statsRows.toLocaleString('en')} count rows and ${day.latencyRows.toLocaleString('en')} histogram rows such a day leaves), ${day.byHourMs.length} queries each, median (min–max): per hour **${spread(day.byHourMs)} ms**, per area **${spread(day.byAreaMs)} ms**.`,
      ]
    : [];
  const processRows = runs.map(
    (r) =>
      `| ${r.label} | ${r.processes.map((p) => `${p.name} ${p.cpuAvgPct.toFixed(0)}% (max ${p.cpuMaxPct.toFixed(0)}%), ${p.rssMaxMb.toFixed(0)} MB`).join(' · ')} |`,
  );
  return [
    '# Dispatch Mesh benchmark report',
    '',
    `${new Date().toISOString()} · ${process.env.HOSTNAME ?? 'this machine'} · real Kafka and Redis, gateway and functions as separate processes, k6 on the same machine.`,
    '',
    '## lunch-spike',
    '',
    'Orders on an open arrival-rate model: 20/s baseline with 10 s bursts to the multiplier every 30 s, starting once the couriers are online; couriers on Socket.IO accepting every offer and delivering 3 s later. Latencies in ms (p50 / p95 / p99).',
    '',
    '| run | peak orders/s (5 s window) | accepted / lost / still waiting | place-order HTTP | dispatch (accepted → offer on the socket) | dropped iterations | thresholds |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...lunchRows,
    '',
    highest
      ? `Highest multiplier held with zero lost orders and dispatch p99 ≤ ${SEARCH_DISPATCH_P99_MS} ms: **${highest.spike}x** (${highest.spike * 20} orders/s in the bursts).`
      : `No multiplier tried held with zero lost orders and dispatch p99 ≤ ${SEARCH_DISPATCH_P99_MS} ms.`,
    '',
    '![orders/s and latency over time](lunch-spike.png)',
    '',
    ...spreadLines,
    '',
    '## What it costs (CPU milliseconds per accepted order, or per acknowledged position; the stack is gateway, functions, Kafka and Redis; CPU over the whole run, fleet coming online included)',
    '',
    '| run | per | stack | by process |',
    '| --- | --- | --- | --- |',
    ...costRows,
    '',
    ...(marginalRows.length > 0
      ? [
          `At the margin: the stack's CPU in each ${SERIES_WINDOW_S} s window of the orders against that window's orders per second, fitted with a line. Its slope is what one more order costs (ms); where it meets zero orders, what the stack spends anyway (share of one core: couriers online, their positions, idle work). The figure above spreads that over the orders; this one says how high a spike the cores can take.`,
          '',
          '| run | CPU per order at the margin (stack, ms) | stack with no orders | by process (ms per order + share of a core) | windows, fit |',
          '| --- | --- | --- | --- | --- |',
          ...marginalRows,
          '',
        ]
      : []),
    ...(phaseRows.length > 0
      ? [
          "By part of the run: the stack's CPU before the first order (the fleet signing in and settling), in the calm and burst windows and the ramps between them, and after the last order (deliveries finishing, the fleet online, then leaving). Per order in a part: all the stack spent in it, the fleet's share included, over the orders it took.",
          '',
          '| run | before the orders | calm | ramps | bursts | after the orders |',
          '| --- | --- | --- | --- | --- | --- |',
          ...phaseRows,
          '',
        ]
      : []),
    ...(steadyRows.length > 0
      ? [
          `## Steady rates (the fleet online, orders at one rate for ${STEADY_ORDERS_S} s, no bursts; the stack's CPU from ${STEADY_FROM_S} s to ${STEADY_TO_S} s into the run)`,
          '',
          "Per order above the fleet alone: the stack's CPU at that rate less its CPU with no orders (the `0` row), over the rate, in ms. An order costs less the more orders come with it: each hop (a fetch, a script call, a transaction) carries what arrived together.",
          '',
          '| orders/s | accepted | stack (share of a core) | by process | per order above the fleet alone (ms) | dispatch p50 / p99 (ms) |',
          '| --- | --- | --- | --- | --- | --- |',
          ...steadyRows,
          '',
        ]
      : []),
    '## Route log (archive lag: when an order event reached PostgreSQL minus when it happened, in seconds)',
    '',
    '| run | order events archived | lag p50 / p99 / max (s) |',
    '| --- | --- | --- |',
    ...archiveRows,
    '',
    ...daySection,
    '',
    '## location-storm and live-rooms',
    '',
    '| run | measured | p50 / p95 / p99 (ms) | HTTP errors | thresholds |',
    '| --- | --- | --- | --- | --- |',
    ...otherRows,
    '',
    '## Processes (CPU as a share of one core, average and max of 1 s samples; peak resident memory)',
    '',
    '| run | processes |',
    '| --- | --- |',
    ...processRows,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const out = join(ROOT, 'artifacts', 'bench', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(out, { recursive: true });
  const lunchEnv = (spike: number) => ({
    SPIKE_X: String(spike),
    DURATION: values.duration,
    COURIERS: values.couriers,
  });
  const runs: Run[] = [];
  const holds = (r: Run) =>
    (r.lunch?.lost ?? 1) === 0 && (r.metrics.dispatch_latency?.['p(99)'] ?? Infinity) <= SEARCH_DISPATCH_P99_MS;
  const base = Number(values.spike);
  const others = values.search.split(',').filter(Boolean).map(Number);
  const first: Topology = TOPOLOGIES[0] ?? 'single';
  // --repeat 0: no lunch spike at all (e.g. to measure the location storm alone).
  const repeat = Number(values.repeat);
  for (const topology of TOPOLOGIES) {
    for (let i = 1; i <= repeat; i++) {
      const label = `${baseLabel(topology)}${i > 1 ? ` #${i}` : ''}`;
      runs.push(await measured(label, 'lunch-spike', lunchEnv(base), true, topology));
    }
  }
  const main = runs[0];
  let highest: { spike: number; run: Run } | null = main && holds(main) ? { spike: base, run: main } : null;
  // Up from the base while each holds; or, when the base does not, down until one does.
  const next = !main
    ? []
    : highest
      ? others.filter((x) => x > base).sort((a, b) => a - b)
      : others.filter((x) => x < base).sort((a, b) => b - a);
  for (const spike of next) {
    const run = await measured(`lunch-spike ${spike}x`, 'lunch-spike', lunchEnv(spike), true, first);
    runs.push(run);
    const held = holds(run);
    if (held && (!highest || spike > highest.spike)) highest = { spike, run };
    if (spike > base ? !held : held) break;
  }
  for (const rate of RATES) {
    const env = {
      BASELINE: String(rate),
      SPIKE_X: '1',
      DURATION: `${STEADY_ORDERS_S}s`,
      COURIERS: values.couriers,
    };
    runs.push(await measured(`steady ${rate} orders/s`, 'lunch-spike', env, false, first, rate));
  }
  if (Number(values.storm) > 0)
    runs.push(
      await measured(
        `location-storm ${values.storm} couriers @1/s`,
        'location-storm',
        { COURIERS: values.storm, DURATION: '30s' },
        false,
        first,
      ),
    );
  if (Number(values.rooms) > 0)
    runs.push(
      await measured(
        `live-rooms ${values.rooms} rooms`,
        'live-rooms',
        { ROOMS: values.rooms, DURATION: '40s' },
        false,
        first,
      ),
    );

  const svg = seriesChartSvg(
    main?.lunch?.series ?? [],
    `lunch-spike ${values.spike}x: orders/s accepted and latency over time`,
  );
  writeFileSync(join(out, 'lunch-spike.svg'), svg);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 980, height: 440 } });
    await page.setContent(`<!doctype html><body style="margin:0">${svg}</body>`);
    await page.locator('svg').screenshot({ path: join(out, 'lunch-spike.png') });
  } finally {
    await browser.close();
  }
  const day = Number(values.report) > 0 ? await reportQueryFigures(Number(values.report)) : null;
  const report = markdown(runs, highest, day);
  writeFileSync(join(out, 'report.md'), report);
  writeFileSync(
    join(out, 'report.json'),
    JSON.stringify({ runs, highestSpike: highest?.spike ?? null, reportQuery: day }, null, 2),
  );
  process.stdout.write(`${report}\n[bench] report in ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
