/**
 * npm run bench:location [-- --couriers 500 --rate 6000 --seconds 15]
 *
 * Starts gateway and functions as separate processes on the real Kafka and Redis,
 * connects N couriers over Socket.IO and has them stream positions at an open-loop
 * total rate. Prints the updates/s carried and, per update, the latency from the
 * socket emit to the position being written in Redis (seen through Redis keyspace
 * notifications on the courier's hash) and from the emit to the gateway's ack
 * (the update is on Kafka). Couriers speak Socket.IO over raw WebSockets
 * (`raw-socket-io.ts`) so the generator leaves the CPU to the pipeline it measures.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MARKET } from '@mesh/config';
import { courierKeys } from '@mesh/geo';
import Redis from 'ioredis';
import { startStack } from '@mesh/harness';
import { ms, percentile } from './figures';
import { RawSocketIo } from './raw-socket-io';

const { values } = parseArgs({
  options: {
    couriers: { type: 'string', default: '500' },
    rate: { type: 'string', default: '6000' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
  },
});
const COURIERS = Number(values.couriers);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WARMUP_S = Number(values.warmup);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function main(): Promise<void> {
  const stack = await startStack({ LOG_LEVEL: 'error', LOCATION_PUSH_INTERVAL_MS: '1000' });
  const prefix = String(stack.env.REDIS_KEY_PREFIX);
  const admin = new Redis(REDIS_URL);
  const [, previousNotify] = (await admin.config('GET', 'notify-keyspace-events')) as [string, string];
  await admin.config('SET', 'notify-keyspace-events', 'Kh');
  const watcher = new Redis(REDIS_URL);

  // courier → fixes emitted and not yet seen in Redis (when, and the fix's time), oldest first
  const pending = new Map<string, { t0: number; atMs: number }[]>();
  const visible: number[] = [];
  const perSecond = new Map<number, number[]>(); // second of the run → emit → Redis latencies
  const acked: number[] = [];
  let measuring = false;
  let measureStart = 0;
  let sent = 0;
  let ackErrors = 0;
  let seen = 0;
  /** Fixes never written because a newer one of the same courier came in the same batch (the newest wins). */
  let superseded = 0;
  // Couriers' hashes are named by their market (one market here: the deployment names none).
  const keyspace = `__keyspace@0__:${prefix}${courierKeys.courier(DEFAULT_MARKET, '')}`;
  await watcher.psubscribe(`${keyspace}*`);
  watcher.on('pmessage', (_pattern: string, channel: string, op: string) => {
    if (op !== 'hset') return;
    const courier = channel.slice(keyspace.length);
    // The fix the hash holds now: it and every older one still pending are settled.
    void admin.hget(`${prefix}${courierKeys.courier(DEFAULT_MARKET, courier)}`, 'atMs').then((stored) => {
      const list = pending.get(courier);
      if (!list || stored === null) return;
      const now = performance.now();
      while (list.length > 0 && list[0]!.atMs <= Number(stored)) {
        const { t0, atMs } = list.shift()!;
        if (atMs < Number(stored)) {
          superseded += 1;
          continue;
        }
        seen += 1;
        if (!measuring) continue;
        visible.push(now - t0);
        const second = Math.floor((t0 - measureStart) / 1000);
        const latencies = perSecond.get(second);
        if (latencies) latencies.push(now - t0);
        else perSecond.set(second, [now - t0]);
      }
    });
  });

  const sockets: RawSocketIo[] = [];
  const ids: string[] = [];
  for (let i = 0; i < COURIERS; i++) {
    const id = `bench-courier-${i}`;
    const socket = await RawSocketIo.connect(stack.baseUrl, await stack.token(id, ['courier']));
    sockets.push(socket);
    ids.push(id);
    pending.set(id, []);
  }
  process.stdout.write(`${COURIERS} couriers connected; streaming ${RATE} updates/s for ${WARMUP_S}+${SECONDS} s\n`);

  const centre = { lat: 52.52, lng: 13.405 };
  const intervalMs = 1000 / RATE;
  const started = performance.now();
  const end = started + (WARMUP_S + SECONDS) * 1000;
  let sentInWindow = 0;
  let next = started;
  let cursor = 0;
  while (performance.now() < end) {
    const now = performance.now();
    if (!measuring && now - started >= WARMUP_S * 1000) {
      measuring = true;
      measureStart = now;
    }
    // Open loop: emit every update whose scheduled time has come, whatever the latency of earlier ones.
    while (next <= now) {
      const i = cursor++ % COURIERS;
      const id = ids[i]!;
      const t0 = performance.now();
      const step = cursor / COURIERS;
      const fix = {
        lat: centre.lat + ((i % 50) - 25) * 0.002 + step * 1e-6,
        lng: centre.lng + (Math.floor(i / 50) - 5) * 0.003,
        at: new Date().toISOString(),
      };
      const entry = { t0, atMs: Date.parse(fix.at) };
      pending.get(id)!.push(entry);
      sent += 1;
      if (measuring) sentInWindow += 1;
      const wasMeasuring = measuring;
      sockets[i]!.emit('courier.location', fix, (reply) => {
        if (!(reply as { ok: boolean }).ok) {
          // Refused: never to be written, so not counted as superseded or lost as well.
          ackErrors += 1;
          const list = pending.get(id)!;
          const at = list.indexOf(entry);
          if (at >= 0) list.splice(at, 1);
        } else if (wasMeasuring) acked.push(performance.now() - t0);
      });
      next += intervalMs;
    }
    // A 1 ms tick, not a spin: the generator shares the machine with what it measures.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const windowS = (performance.now() - measureStart) / 1000;
  measuring = false;
  const drainDeadline = performance.now() + 15_000;
  while (seen + superseded + ackErrors < sent && performance.now() < drainDeadline)
    await new Promise((r) => setTimeout(r, 20));

  visible.sort((a, b) => a - b);
  // A run's p99 is often made by one stalled second; show where it was.
  const secondP99 = [...perSecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, list]) =>
      Math.round(
        percentile(
          list.sort((a, b) => a - b),
          99,
        ),
      ),
    );
  acked.sort((a, b) => a - b);
  const lost = sent - seen - superseded - ackErrors;
  const report = {
    couriers: COURIERS,
    targetRate: RATE,
    offeredRate: Math.round(sentInWindow / windowS),
    visibleRate: Math.round(visible.length / windowS),
    visibleP50: percentile(visible, 50),
    visibleP95: percentile(visible, 95),
    visibleP99: percentile(visible, 99),
    ackP50: percentile(acked, 50),
    ackP99: percentile(acked, 99),
    ackErrors,
    notSeenInRedis: lost,
    superseded,
  };
  process.stdout.write(
    [
      '',
      `location pipeline: socket emit → gateway → Kafka → location function → Redis`,
      `  couriers            ${report.couriers}`,
      `  offered             ${report.offeredRate} updates/s (target ${RATE})`,
      `  visible in Redis    ${report.visibleRate} updates/s`,
      `  emit → Redis        p50 ${ms(report.visibleP50)}  p95 ${ms(report.visibleP95)}  p99 ${ms(report.visibleP99)}`,
      `  emit → ack (Kafka)  p50 ${ms(report.ackP50)}  p99 ${ms(report.ackP99)}`,
      `  p99 each second     ${secondP99.join(' ')} ms`,
      `  errors              ${ackErrors} refused, ${lost} never seen in Redis`,
      `  superseded          ${superseded} (a newer fix of the courier in the same batch was written instead)`,
      '',
      JSON.stringify(report),
      '',
    ].join('\n'),
  );

  for (const s of sockets) s.close();
  await watcher.quit();
  await admin.config('SET', 'notify-keyspace-events', previousNotify);
  await admin.quit();
  await stack.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
