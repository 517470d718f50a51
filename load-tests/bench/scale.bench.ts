/**
 * npm run bench:scale [-- --steady 1500 --burst 40000 --standby 1]
 *
 * Runs the local scaler (its own process) on the real Kafka and Redis with the
 * location function, and measures what elasticity costs:
 * - start of a new replica → its first event handled (from the workers): a cold start
 *   from process start, or a warm start from a standby worker's activation
 *   (`--standby 0` turns standby workers off, so every replica starts cold);
 * - reaction: an idle function's first event published → the scaler starting a worker,
 *   and a burst on a running function → the scaler adding workers;
 * - rebalance pause: the longest stretch with no event handled while a steady
 *   stream flows and the group rebalances for new workers (eager, stop-the-world in kafkajs);
 * - events/s per replica at the peak of the burst.
 * Events are seen handled through Redis keyspace notifications on the couriers' hashes.
 */
import { newEvent, type KafkaEventBus } from '@mesh/bus';
import { DEFAULT_MARKET } from '@mesh/config';
import { courierKeys } from '@mesh/geo';
import Redis from 'ioredis';
import { parseArgs } from 'node:util';
import { startScaler } from '@mesh/harness';

const { values } = parseArgs({
  options: {
    steady: { type: 'string', default: '1500' },
    burst: { type: 'string', default: '40000' },
    cooldown: { type: 'string', default: '5' },
    standby: { type: 'string', default: '1' },
  },
});
const STEADY_RATE = Number(values.steady);
const BURST = Number(values.burst);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const COURIERS = 2_000;

let sequence = 0;
function fix(bus: KafkaEventBus): Promise<void> {
  const n = sequence++;
  const courierId = `scale-bench-${n % COURIERS}`;
  return bus.publish(
    'couriers',
    newEvent(
      'courier.location.reported',
      { courierId, lat: 48 + (n % 1000) * 1e-5, lng: 2.35, at: new Date(Date.now() + n).toISOString() },
      { source: '/bench', key: courierId },
    ),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const scaler = await startScaler(
    {
      pollingIntervalS: 0.5,
      functions: {
        location: {
          minReplicas: 0,
          maxReplicas: 4,
          lagThreshold: 2_000,
          activationLagThreshold: 0,
          cooldownS: Number(values.cooldown),
        },
      },
    },
    { LOG_LEVEL: 'info', SCALER_STANDBY: values.standby },
  );
  // The scaler keeps its standby workers ready from its start; measure from there, as in service.
  const standbys = Number(values.standby);
  const standbyDeadline = performance.now() + 60_000;
  while ((await scaler.status()).standbysReady < standbys) {
    if (performance.now() > standbyDeadline) throw new Error(`no ${standbys} standby workers ready after 60 s`);
    await sleep(50);
  }
  const prefix = String(scaler.env.REDIS_KEY_PREFIX);
  const admin = new Redis(REDIS_URL);
  const [, previousNotify] = (await admin.config('GET', 'notify-keyspace-events')) as [string, string];
  await admin.config('SET', 'notify-keyspace-events', 'Kh');
  const watcher = new Redis(REDIS_URL);
  const handledAt: number[] = [];
  await watcher.psubscribe(`__keyspace@0__:${prefix}${courierKeys.courier(DEFAULT_MARKET, '*')}`);
  watcher.on('pmessage', (_p: string, _c: string, op: string) => {
    if (op === 'hset') handledAt.push(performance.now());
  });
  const replicaSamples: { at: number; replicas: number }[] = [];
  const sampler = setInterval(() => {
    void scaler.replicas('location').then((replicas) => replicaSamples.push({ at: performance.now(), replicas }));
  }, 100);

  // 1. Cold: one event on an idle function.
  const idleAt = performance.now();
  const idleWall = Date.now();
  await fix(scaler.bus);
  while (handledAt.length === 0) await sleep(10);
  const firstHandledMs = handledAt[0]! - idleAt;
  const wake = (await scaler.status()).history.find((h) => h.function === 'location' && h.from === 0);
  const wakeReactionMs = wake ? Date.parse(wake.at) - idleWall : NaN;

  // 2. A steady stream, then a burst on top of it.
  let streaming = true;
  const stream = (async () => {
    const interval = 1000 / STEADY_RATE;
    let next = performance.now();
    while (streaming) {
      while (next <= performance.now()) {
        void fix(scaler.bus);
        next += interval;
      }
      await sleep(1);
    }
  })();
  await sleep(3_000);
  const burstAt = performance.now();
  const burstWall = Date.now();
  await Promise.all(Array.from({ length: BURST }, () => fix(scaler.bus)));
  const burstPublishedMs = performance.now() - burstAt;
  // Until the scaler has scaled out and back down to one replica for the steady stream.
  let scaledOut = false;
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const replicas = await scaler.replicas('location');
    if (replicas >= 2) scaledOut = true;
    if (scaledOut && replicas <= 1) break;
    await sleep(250);
  }
  streaming = false;
  await stream;
  clearInterval(sampler);

  const status = await scaler.status();
  const up = status.history.find((h) => h.function === 'location' && Date.parse(h.at) >= burstWall && h.to > h.from);
  const burstReactionMs = up ? Date.parse(up.at) - burstWall : NaN;
  const starts = status.coldStarts.filter((c) => c.function === 'location');
  const coldStarts = starts.filter((c) => c.kind === 'cold').map((c) => c.ms);
  const warmStarts = starts.filter((c) => c.kind === 'warm').map((c) => c.ms);
  const list = (all: number[]) => (all.length > 0 ? all.map((ms) => `${ms} ms`).join(', ') : 'none');
  // The rebalance pause: the longest gap between handled events after the burst began (events were always waiting).
  const after = handledAt.filter((t) => t >= burstAt);
  let pause = 0;
  for (let i = 1; i < after.length; i++) pause = Math.max(pause, after[i]! - after[i - 1]!);
  // Peak throughput: the best one-second window, divided by the replicas running then.
  let bestRate = 0;
  let bestReplicas = 1;
  for (let i = 0, j = 0; i < after.length; i++) {
    while (after[j]! < after[i]! - 1000) j++;
    const rate = i - j + 1;
    if (rate > bestRate) {
      bestRate = rate;
      bestReplicas = replicaSamples.filter((s) => s.at <= after[i]!).at(-1)?.replicas ?? 1;
    }
  }
  const maxReplicas = Math.max(...replicaSamples.map((s) => s.replicas));
  const report = {
    coldStartMs: coldStarts,
    warmStartMs: warmStarts,
    idleEventToHandledMs: Math.round(firstHandledMs),
    idleEventToScaleUpMs: wakeReactionMs,
    burstToScaleOutMs: burstReactionMs,
    burstPublishedMs: Math.round(burstPublishedMs),
    rebalancePauseMs: Math.round(pause),
    maxReplicas,
    peakEventsPerS: bestRate,
    peakEventsPerSPerReplica: Math.round(bestRate / Math.max(1, bestReplicas)),
    history: status.history.filter((h) => h.function === 'location'),
  };
  process.stdout.write(
    [
      '',
      'elastic functions: local scaler, location function, real Kafka and Redis',
      `  cold start (process start → first event)    ${list(coldStarts)}`,
      `  warm start (standby given it → first event) ${list(warmStarts)}`,
      `  idle → first event handled                  ${report.idleEventToHandledMs} ms (scaler woke it after ${wakeReactionMs} ms)`,
      `  burst of ${BURST} → scale-out decision       ${burstReactionMs} ms (burst took ${report.burstPublishedMs} ms to publish)`,
      `  longest pause in handling during rebalances ${report.rebalancePauseMs} ms`,
      `  replicas at most                            ${maxReplicas}`,
      `  peak                                        ${bestRate} events/s with ${bestReplicas} replica(s) → ${report.peakEventsPerSPerReplica}/s per replica`,
      `  scaling history                             ${report.history.map((h) => `${h.from}→${h.to}@lag ${h.lag}`).join(', ')}`,
      '',
      JSON.stringify(report),
      '',
    ].join('\n'),
  );
  await watcher.quit();
  await admin.config('SET', 'notify-keyspace-events', previousNotify);
  await admin.quit();
  await scaler.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
