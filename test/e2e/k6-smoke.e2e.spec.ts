import { startStack, type RunningStack } from '@mesh/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mixEnv } from './support/live-room';

const ROOT = join(__dirname, '..', '..');

interface K6Summary {
  metrics: Record<string, { count?: number; 'p(99)'?: number; thresholds?: Record<string, boolean> }>;
}

/**
 * The k6 scenarios' CI profiles against a fresh stack: lunch-spike (customers on an
 * open arrival-rate model with a spike, couriers on Socket.IO accepting offers) and
 * location-storm and live-rooms (hosts with co-hosts joining and leaving while ffmpeg mixes).
 * Each passes only if k6's own thresholds hold.
 */
describe('k6 smoke: the scenarios’ CI profiles (real stack)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack({ LOG_LEVEL: 'error', ...mixEnv() });
  });
  afterAll(() => stack?.stop());

  /** Runs a scenario's CI profile against the stack; fails with k6's output unless every threshold held. */
  async function runK6(scenario: string): Promise<K6Summary['metrics']> {
    const summaryFile = join(mkdtempSync(join(tmpdir(), 'k6-')), 'summary.json');
    const k6 = spawn(
      join(ROOT, 'load-tests', 'run-k6.sh'),
      [scenario, '--quiet', '--summary-export', summaryFile, '-e', 'PROFILE=ci'],
      { env: { ...process.env, BASE_URL: stack.baseUrl, JWT_SECRET: String(stack.env.JWT_SECRET) } },
    );
    const output: string[] = [];
    k6.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    k6.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    const code = await new Promise<number | null>((resolve) => k6.once('exit', resolve));
    if (code !== 0) throw new Error(`k6 ${scenario} exited ${code}:\n${output.join('').slice(-4000)}`);
    const { metrics } = JSON.parse(readFileSync(summaryFile, 'utf8')) as K6Summary;
    for (const [name, metric] of Object.entries(metrics)) {
      for (const [rule, failed] of Object.entries(metric.thresholds ?? {})) {
        expect(`${name} ${rule} ${failed ? 'failed' : 'held'}`).toBe(`${name} ${rule} held`);
      }
    }
    return metrics;
  }

  it('lunch-spike holds its thresholds: orders accepted, offers received, dispatch p99 within the CI bound', async () => {
    const metrics = await runK6('lunch-spike');
    expect(metrics.orders_accepted?.count).toBeGreaterThan(100);
    expect(metrics.offers_received?.count).toBeGreaterThan(20);
    expect(metrics.dispatch_latency?.['p(99)']).toBeLessThan(500);
  }, 180_000);

  it('location-storm holds its thresholds: every position acknowledged, none refused', async () => {
    const metrics = await runK6('location-storm');
    expect(metrics.location_refused?.count ?? 0).toBe(0);
    expect(metrics.location_ack_latency?.['p(99)']).toBeLessThan(250);
  }, 120_000);

  it('live-rooms holds its thresholds: rooms go live, every change is applied by the mix, none fails', async () => {
    const metrics = await runK6('live-rooms');
    expect(metrics.stream_changes?.count).toBeGreaterThan(10);
    expect(metrics.streams_live?.count).toBe(2);
    expect(metrics.stream_go_live?.['p(99)']).toBeLessThan(10_000);
    expect(metrics.stream_change_applied?.['p(99)']).toBeLessThan(2_000);
    expect(metrics.stream_failures?.count ?? 0).toBe(0);
  }, 120_000);
});
