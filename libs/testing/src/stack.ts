import { dropSchema, migrateSchema } from './database';
import { TokenIssuer } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import type { Role } from '@mesh/contracts';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually, uniqueName } from './eventually';
import { REPO_ROOT } from './repo-root';

const ROOT = REPO_ROOT;

export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunningStack {
  readonly baseUrl: string;
  readonly functionsUrl: string;
  readonly env: NodeJS.ProcessEnv;
  /** The current gateway process (a new one after `restartGateway`). */
  readonly gateway: RunningProcess;
  /** The current functions process (a new one after `restartFunctions`). */
  readonly functions: RunningProcess;
  token(sub: string, roles: Role[], ttlS?: number): Promise<string>;
  /** Kills the functions process with `signal`, runs `whileDown`, then starts a fresh one on the same config. */
  restartFunctions(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  /** Stops the gateway with `signal`, runs `whileDown`, then starts a fresh one on the same port and config. */
  restartGateway(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a built app (`npm run build` first) as its own process. With MESH_PROFILE_DIR
 * set, each process writes a V8 CPU profile there when it exits (for benchmarks).
 */
export function startProcess(name: string, entry: string, env: NodeJS.ProcessEnv): RunningProcess {
  const profile = process.env.MESH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MESH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, join(ROOT, 'dist', entry)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 500) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitForHttp(url: string, proc: RunningProcess, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited early:\n${proc.output.join('')}`);
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** The local SeaweedFS `infra:up` starts, with its development credentials (infra/scripts/infra.sh). */
export const LOCAL_OBJECT_STORE = {
  OBJECT_STORE_ACCESS_KEY: process.env.OBJECT_STORE_ACCESS_KEY ?? 'mesh-local',
  OBJECT_STORE_SECRET_KEY: process.env.OBJECT_STORE_SECRET_KEY ?? 'mesh-local-secret-not-for-production',
};

/**
 * Gateway and functions as separate processes on the real Kafka and Redis,
 * with their own Kafka topics and Redis keys, so stacks never see each other.
 */
export async function startStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningStack> {
  const [port, functionsPort] = [await freePort(), await freePort()];
  const run = uniqueName('e2e');
  // A PostgreSQL schema of its own for the route log, migrated like the deployment's.
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://mesh@127.0.0.1:5432/mesh';
  const schema = run.replace(/-/g, '_');
  await migrateSchema(databaseUrl, schema);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    ADAPTERS: 'real',
    HOST: '127.0.0.1',
    PORT: String(port),
    FUNCTIONS_PORT: String(functionsPort),
    JWT_SECRET: randomBytes(32).toString('base64url'),
    REDIS_KEY_PREFIX: `${run}:`,
    KAFKA_TOPIC_PREFIX: `${run}.`,
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    ...LOCAL_OBJECT_STORE,
    LOG_LEVEL: 'warn',
    DEV_TOKENS: '0',
    // Every test client comes from one address (a fleet of 2,000 in the benchmarks); the security suite
    // sets its own limits.
    ANON_RATE_LIMIT_REQUESTS: '5000',
    ANON_SOCKETS_PER_IP: '10000',
    // Searches that find nobody wait 0.1 s, doubling, so an unreachable order is given up in ~1.5 s.
    DISPATCH_RETRY_S: '0.1',
    ...extraEnv,
  };
  let functions = startProcess('functions', 'apps/functions/src/main.js', env);
  let gateway = startProcess('gateway', 'apps/gateway/src/main.js', env);
  const baseUrl = `http://127.0.0.1:${port}`;
  const functionsUrl = `http://127.0.0.1:${functionsPort}`;
  try {
    await Promise.all([waitForHttp(`${baseUrl}/readyz`, gateway), waitForHttp(`${functionsUrl}/healthz`, functions)]);
  } catch (err) {
    await Promise.all([gateway.stop('SIGKILL'), functions.stop('SIGKILL')]);
    throw err;
  }
  const issuer = new TokenIssuer(AppConfig.fromEnv(env));
  return {
    baseUrl,
    functionsUrl,
    env,
    get gateway() {
      return gateway;
    },
    get functions() {
      return functions;
    },
    token: (sub, roles, ttlS) => issuer.issue({ sub, roles, ...(ttlS !== undefined ? { ttlS } : {}) }),
    restartFunctions: async (signal = 'SIGKILL', whileDown) => {
      await functions.stop(signal);
      await whileDown?.();
      functions = startProcess('functions', 'apps/functions/src/main.js', env);
      await waitForHttp(`${functionsUrl}/healthz`, functions);
    },
    restartGateway: async (signal = 'SIGTERM', whileDown) => {
      await gateway.stop(signal);
      await whileDown?.();
      gateway = startProcess('gateway', 'apps/gateway/src/main.js', env);
      await waitForHttp(`${baseUrl}/readyz`, gateway);
    },
    stop: async () => {
      await Promise.all([gateway.stop(), functions.stop()]);
      await Promise.all([
        deleteTopics(String(env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), run),
        deleteKeys(String(env.REDIS_URL ?? 'redis://127.0.0.1:6379'), `${run}:`),
        dropSchema(databaseUrl, schema),
      ]);
    },
  };
}

/** Reads one counter series from a Prometheus text page; 0 when absent. */
export function metricValue(page: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Removes a finished run’s Redis keys (those starting with `prefix`), as its topics are removed. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const stream = redis.scanStream({ match: `${prefix}*`, count: 1_000 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** Removes a finished run’s topics (those starting with `${prefix}.`) so repeated runs do not pile them up. */
export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({ clientId: 'e2e-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}
