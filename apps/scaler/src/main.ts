/**
 * The local scaler: runs each function as worker processes of apps/functions and
 * scales them from Kafka consumer lag (scaling-policy.json, or SCALING_POLICY_FILE),
 * the mix also from the live rooms in the stream store.
 * Serves /healthz, /status (replicas, lag, workers, scaling history) and /metrics on SCALER_PORT.
 */
import { KafkaEventBus } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { SCALING_POLICY, ScalingPolicy } from '@mesh/contracts';
import { RedisConnection } from '@mesh/redis';
import { RedisStreamStore } from '@mesh/streams';
import { createLogger, Metrics } from '@mesh/telemetry';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { LocalScaler } from './local-scaler';
import { WorkerPool } from './worker-pool';

async function main(): Promise<void> {
  const config = AppConfig.fromEnv();
  if (config.adapters !== 'real')
    throw new Error('the scaler runs workers on the real Kafka and Redis (ADAPTERS=real)');
  const logger = createLogger('scaler', config.logLevel);
  const policy = process.env.SCALING_POLICY_FILE
    ? ScalingPolicy.parse(JSON.parse(readFileSync(process.env.SCALING_POLICY_FILE, 'utf8')))
    : SCALING_POLICY;
  const metrics = new Metrics();
  const bus = new KafkaEventBus({ ...config.kafka, logger });
  await bus.ensureTopics();
  let scaler: LocalScaler | undefined = undefined;
  const pool = new WorkerPool(
    join(__dirname, '..', '..', 'functions', 'src', 'main.js'),
    process.env,
    logger,
    (role, ms, kind) => scaler?.coldStarted(role, ms, kind),
    standbyCount(process.env.SCALER_STANDBY),
  );
  const redis = new RedisConnection(config.redis);
  const streams = new RedisStreamStore(redis);
  scaler = new LocalScaler(bus, pool, policy, metrics, logger, () => streams.liveLoad());
  const running = scaler;

  const port = Number(process.env.SCALER_PORT ?? 3002);
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/healthz') send(200, 'application/json', '{"status":"ok"}');
    else if (req.url === '/status') send(200, 'application/json', JSON.stringify(running.status()));
    else if (req.url === '/metrics')
      void metrics.render().then((text) => send(200, metrics.registry.contentType, text));
    else send(404, 'application/json', '{"status":404}');
  });
  await new Promise<void>((resolve) => server.listen(port, config.host, resolve));
  pool.prepare();
  running.start();
  logger.info({ port, functions: Object.keys(policy.functions) }, 'scaler running');

  const shutdown = () => {
    logger.info('scaler stopping: draining workers');
    void running
      .stop()
      .then(() => Promise.all([bus.close(), redis.close()]))
      .finally(() => server.close(() => process.exit(0)));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/** SCALER_STANDBY: workers kept started ahead of need (default 1; 0 turns it off). */
function standbyCount(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 8)
    throw new Error(`SCALER_STANDBY must be a whole number 0..8, not ${value}`);
  return n;
}

main().catch((err: unknown) => {
  process.stderr.write(`scaler failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
