import { startStack, type RunningStack } from '@mesh/harness';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mixEnv } from './support/live-room';

const ROOT = join(__dirname, '..', '..');

interface K6Summary {
  /** Counters have a count, rates a value (the share of true samples). */
  metrics: Record<string, { count?: number; value?: number }>;
}

/**
 * The k6 scenarios' CI profiles against a fresh stack: lunch-spike (customers on an
 * open arrival-rate model with a spike, couriers on Socket.IO accepting offers) and
 * location-storm and live-rooms (hosts with co-hosts joining and leaving while ffmpeg mixes).
 * The scenarios work end to end: what was asked is done, nothing is refused or fails.
 * How fast is the benchmarks' business (`npm run bench` reports the same scenarios' latencies
 * against their thresholds); a timing here would fail on a busy machine, not on a slow product.
 */
describe('k6 smoke: the scenarios’ CI profiles (real stack)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack({ LOG_LEVEL: 'error', ...mixEnv() });
  });
  afterAll(() => stack?.stop());

  /** Runs a scenario's CI profile against the stack (its timing thresholds not applied); fails with k6's output if k6 failed. */
  async function runK6(scenario: string): Promise<K6Summary['metrics']> {
    const summaryFile = join(mkdtempSync(join(tmpdir(), 'k6-')), 'summary.json');
    const k6 = spawn(
      join(ROOT, 'load-tests', 'run-k6.sh'),
      [scenario, '--quiet', '--no-thresholds', '--summary-export', summaryFile, '-e', 'PROFILE=ci'],
      { env: { ...process.env, BASE_URL: stack.baseUrl, JWT_SECRET: String(stack.env.JWT_SECRET) } },
    );
    const output: string[] = [];
    k6.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    k6.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    const code = await new Promise<number | null>((resolve) => k6.once('exit', resolve));
    if (code !== 0) throw new Error(`k6 ${scenario} exited ${code}:\n${output.join('').slice(-4000)}`);
    const { metrics } = JSON.parse(readFileSync(summaryFile, 'utf8')) as K6Summary;
    // Every check of the scenario passed (k6's own bar: more than 99 %).
    expect(metrics.checks?.value).toBeGreaterThan(0.99);
    return metrics;
  }

  it('lunch-spike: orders accepted, offers received and accepted, HTTP failures under 1 %', async () => {
    const metrics = await runK6('lunch-spike');
    expect(metrics.orders_accepted?.count).toBeGreaterThan(100);
    expect(metrics.offers_received?.count).toBeGreaterThan(20);
    expect(metrics.dispatch_latency?.count).toBeGreaterThan(20);
    expect(metrics.http_req_failed?.value).toBeLessThan(0.01);
  }, 180_000);

  it('location-storm: positions acknowledged, none refused', async () => {
    const metrics = await runK6('location-storm');
    expect(metrics.location_refused?.count ?? 0).toBe(0);
    expect(metrics.location_ack_latency?.count).toBeGreaterThan(100);
  }, 120_000);

  it('live-rooms: rooms go live, changes are applied by the mix, none fails', async () => {
    const metrics = await runK6('live-rooms');
    expect(metrics.stream_changes?.count).toBeGreaterThan(10);
    expect(metrics.streams_live?.count).toBe(2);
    // A change made while an earlier one waits for the mix supersedes it: most, not all, are seen applied themselves.
    expect(metrics.stream_change_applied?.count).toBeGreaterThanOrEqual(
      Math.ceil((metrics.stream_changes?.count ?? 0) / 2),
    );
    expect(metrics.stream_failures?.count ?? 0).toBe(0);
    expect(metrics.http_req_failed?.value).toBeLessThan(0.01);
  }, 120_000);
});
