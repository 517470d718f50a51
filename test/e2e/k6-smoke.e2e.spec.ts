import { startStack, type RunningStack } from '@mesh/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

interface K6Summary {
  metrics: Record<string, { count?: number; 'p(99)'?: number; thresholds?: Record<string, boolean> }>;
}

/**
 * The lunch-spike k6 scenario's CI profile against a fresh stack: customers on an
 * open arrival-rate model with a spike, couriers on Socket.IO accepting offers.
 * It passes only if k6's own thresholds hold (errors, order latency, dispatch latency, drops).
 */
describe('k6 lunch-spike smoke (real stack)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack({ LOG_LEVEL: 'error' });
  });
  afterAll(() => stack?.stop());

  it('holds its thresholds: orders accepted, offers received, dispatch p99 within the CI bound', async () => {
    const summaryFile = join(mkdtempSync(join(tmpdir(), 'k6-')), 'summary.json');
    const k6 = spawn(
      join(ROOT, '.tools', 'bin', 'k6'),
      [
        'run',
        '--quiet',
        '--summary-export',
        summaryFile,
        '-e',
        'PROFILE=ci',
        '-e',
        `BASE_URL=${stack.baseUrl}`,
        join(ROOT, 'load-tests', 'k6', 'lunch-spike.js'),
      ],
      { env: { ...process.env, JWT_SECRET: String(stack.env.JWT_SECRET), K6_AUTO_EXTENSION_RESOLUTION: 'false' } },
    );
    const output: string[] = [];
    k6.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    k6.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    const code = await new Promise<number | null>((resolve) => k6.once('exit', resolve));

    if (code !== 0) throw new Error(`k6 exited ${code}:\n${output.join('').slice(-4000)}`);
    const { metrics } = JSON.parse(readFileSync(summaryFile, 'utf8')) as K6Summary;
    expect(metrics.orders_accepted?.count).toBeGreaterThan(100);
    expect(metrics.offers_received?.count).toBeGreaterThan(20);
    expect(metrics.dispatch_latency?.['p(99)']).toBeLessThan(500);
    for (const [name, metric] of Object.entries(metrics)) {
      for (const [rule, failed] of Object.entries(metric.thresholds ?? {}))
        expect(`${name} ${rule} ${failed ? 'failed' : 'held'}`).toBe(`${name} ${rule} held`);
    }
  }, 180_000);
});
