import { dropSchema, migrateSchema } from './database';
import { TokenIssuer } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import { DEADLINES, FUNCTION_CATALOG, type Role } from '@mesh/contracts';
import Redis, { Cluster } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually, uniqueName } from './eventually';
import { startLoadBalancer } from './load-balancer';
import { REPO_ROOT } from './repo-root';

const ROOT = REPO_ROOT;

export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunningStack {
  /** Where clients go: the gateway, or on the cluster topology the load balancer in front of the gateways. */
  readonly baseUrl: string;
  readonly functionsUrl: string;
  readonly env: NodeJS.ProcessEnv;
  readonly topology: Topology;
  /** The current (first) gateway process (a new one after `restartGateway`). */
  readonly gateway: RunningProcess;
  /** Every gateway process: one, or on the cluster topology two behind the load balancer. */
  readonly gateways: readonly RunningProcess[];
  /** The current (first) functions process (a new one after `restartFunctions`). */
  readonly functions: RunningProcess;
  /** Every functions process: one, or on the cluster topology two. */
  readonly functionsWorkers: readonly RunningProcess[];
  /** The HAProxy in front of the gateways, on the cluster topology. */
  readonly loadBalancer: RunningProcess | null;
  token(sub: string, roles: Role[], ttlS?: number): Promise<string>;
  /** Kills the functions process with `signal`, runs `whileDown`, then starts a fresh one on the same config. */
  restartFunctions(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  /** Stops the gateway with `signal`, runs `whileDown`, then starts a fresh one on the same port and config. */
  restartGateway(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  // Below the kernel's ephemeral range: a port from it can be taken by any outgoing connection (a
  // fleet of test sockets opens hundreds) between this look and the process binding it, or its restart.
  const below = ephemeralRangeStart();
  for (let tries = 0; tries < 100; tries++) {
    const port = FREE_PORTS_FROM + Math.floor(Math.random() * (below - FREE_PORTS_FROM));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${FREE_PORTS_FROM} and ${below}`);
}

/**
 * Ports this process has handed out: never handed out again, since the process given one may not
 * listen on it yet (several asked for at once, or one to be restarted on its port later), and a
 * second taker would find it in use (EADDRINUSE).
 */
const handedOut = new Set<number>();

const FREE_PORTS_FROM = 15_000;

/** Redis Cluster's bus listens 10000 above a node's port. */
const CLUSTER_BUS_OFFSET = 10_000;

/** A free port for a Redis Cluster node whose bus port (10000 above) is free too, both below the ephemeral range. */
export async function freeClusterNodePort(): Promise<number> {
  const below = ephemeralRangeStart() - CLUSTER_BUS_OFFSET;
  for (let tries = 0; tries < 100; tries++) {
    const port = FREE_PORTS_FROM + Math.floor(Math.random() * (below - FREE_PORTS_FROM));
    if (handedOut.has(port) || handedOut.has(port + CLUSTER_BUS_OFFSET)) continue;
    handedOut.add(port).add(port + CLUSTER_BUS_OFFSET);
    if ((await canListen(port)) && (await canListen(port + CLUSTER_BUS_OFFSET))) return port;
  }
  throw new Error(`no free cluster node port found between ${FREE_PORTS_FROM} and ${below}`);
}

function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > FREE_PORTS_FROM + 1_000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Starts a built app (`npm run build` first) as its own process. With MESH_PROFILE_DIR
 * set, each process writes a V8 CPU profile there when it exits (for benchmarks); with
 * MESH_PROCESS_LOG_DIR set, each process' output is appended to `<name>.log` there (for
 * following an order through a fault run).
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
  if (process.env.MESH_PROCESS_LOG_DIR) {
    const file = createWriteStream(join(process.env.MESH_PROCESS_LOG_DIR, `${name}.log`), { flags: 'a' });
    child.stdout?.pipe(file, { end: false });
    child.stderr?.pipe(file, { end: false });
  }
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

/** Every function and the deadline sweeper, but the mix. */
export const ALL_BUT_MIX = [...FUNCTION_CATALOG.map((f) => f.name).filter((name) => name !== 'mix'), DEADLINES].join(
  ',',
);

/** Which dependencies a stack runs on: `MESH_TOPOLOGY=cluster` picks the cluster topology (`infra:up -- --cluster`). */
export type Topology = 'single' | 'cluster';
export const TOPOLOGY: Topology = process.env.MESH_TOPOLOGY === 'cluster' ? 'cluster' : 'single';

/** The cluster topology's dependencies, as `infra:up -- --cluster` starts them. */
export const CLUSTER_DEPENDENCIES = {
  KAFKA_BROKERS: process.env.MESH_CLUSTER_KAFKA_BROKERS ?? '127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194',
  REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003',
};

/** Three markets side by side (west, centre, east of ±60° longitude), so that they spread over the Redis shards. */
export const CLUSTER_MARKETS = JSON.stringify({
  type: 'FeatureCollection',
  features: [
    ['west', -180, -60],
    ['centre', -60, 60],
    ['east', 60, 180],
  ].map(([name, from, to]) => ({
    type: 'Feature',
    properties: { name },
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [from, -85],
          [to, -85],
          [to, 85],
          [from, 85],
          [from, -85],
        ],
      ],
    },
  })),
});

/**
 * Gateway and functions as separate processes on the real Kafka and Redis,
 * with their own Kafka topics and Redis keys, so stacks never see each other.
 * On the cluster topology (TOPOLOGY): two gateways behind HAProxy, two functions
 * processes, on the three-broker Kafka and the Redis Cluster, with three markets.
 */
export async function startStack(extraEnv: NodeJS.ProcessEnv = {}, topology = TOPOLOGY): Promise<RunningStack> {
  const cluster = topology === 'cluster';
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
    ...(cluster ? CLUSTER_DEPENDENCIES : {}),
    ...(cluster && !extraEnv.SERVICE_AREA && !extraEnv.MARKETS ? { MARKETS: CLUSTER_MARKETS } : {}),
    ...extraEnv,
  };
  // Each process of a kind gets its own port; the first gateway's is the stack's when there is no load balancer.
  const gatewayPorts = cluster ? [await freePort(), await freePort()] : [port];
  const functionsPorts = cluster ? [functionsPort, await freePort()] : [functionsPort];
  const startGateway = (i: number) =>
    startProcess(`gateway-${i + 1}`, 'apps/gateway/src/main.js', { ...env, PORT: String(gatewayPorts[i]) });
  // The mix runs on the first process only (its rooms stay where the tests look for them): the second runs the rest.
  const startFunctions = (i: number) =>
    startProcess(`functions-${i + 1}`, 'apps/functions/src/main.js', {
      ...env,
      FUNCTIONS_PORT: String(functionsPorts[i]),
      ...(i > 0 && !env.FUNCTIONS ? { FUNCTIONS: ALL_BUT_MIX } : {}),
    });
  const functionsWorkers = functionsPorts.map((_, i) => startFunctions(i));
  const gateways = gatewayPorts.map((_, i) => startGateway(i));
  const loadBalancer = cluster
    ? startLoadBalancer(
        port,
        gatewayPorts.map((p, i) => ({ name: `gw${i + 1}`, port: p })),
      )
    : null;
  const baseUrl = `http://127.0.0.1:${port}`;
  const functionsUrl = `http://127.0.0.1:${functionsPort}`;
  const gatewayUrl = (i: number) => `http://127.0.0.1:${gatewayPorts[i]}`;
  const functionsUrlOf = (i: number) => `http://127.0.0.1:${functionsPorts[i]}`;
  const all = () => [...gateways, ...functionsWorkers, ...(loadBalancer ? [loadBalancer] : [])];
  try {
    await Promise.all([
      ...gateways.map((g, i) => waitForHttp(`${gatewayUrl(i)}/readyz`, g)),
      ...functionsWorkers.map((f, i) => waitForHttp(`${functionsUrlOf(i)}/healthz`, f)),
    ]);
    if (loadBalancer) await waitForHttp(`${baseUrl}/readyz`, loadBalancer);
  } catch (err) {
    await Promise.all(all().map((p) => p.stop('SIGKILL')));
    throw err;
  }
  const issuer = new TokenIssuer(AppConfig.fromEnv(env));
  return {
    baseUrl,
    functionsUrl,
    env,
    topology,
    get gateway() {
      return gateways[0]!;
    },
    gateways,
    get functions() {
      return functionsWorkers[0]!;
    },
    functionsWorkers,
    loadBalancer,
    token: (sub, roles, ttlS) => issuer.issue({ sub, roles, ...(ttlS !== undefined ? { ttlS } : {}) }),
    restartFunctions: async (signal = 'SIGKILL', whileDown) => {
      await functionsWorkers[0]!.stop(signal);
      await whileDown?.();
      functionsWorkers[0] = startFunctions(0);
      await waitForHttp(`${functionsUrl}/healthz`, functionsWorkers[0]);
    },
    restartGateway: async (signal = 'SIGTERM', whileDown) => {
      await gateways[0]!.stop(signal);
      await whileDown?.();
      gateways[0] = startGateway(0);
      await waitForHttp(`${gatewayUrl(0)}/readyz`, gateways[0]);
    },
    stop: async () => {
      await Promise.all(all().map((p) => p.stop()));
      await Promise.all([
        deleteTopics(String(env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), run),
        deleteKeys(redisOptionsOf(env), `${run}:`),
        dropSchema(databaseUrl, schema),
      ]);
    },
  };
}

/** Where a stack's Redis is: one server, or a cluster's seed nodes. */
function redisOptionsOf(env: NodeJS.ProcessEnv): { url: string; clusterNodes?: string[] } {
  const nodes = env.REDIS_CLUSTER_NODES?.split(',').filter(Boolean);
  return { url: String(env.REDIS_URL ?? 'redis://127.0.0.1:6379'), ...(nodes?.length ? { clusterNodes: nodes } : {}) };
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

/** Removes a finished run’s Redis keys (those starting with `prefix`), as its topics are removed: on every master of a cluster. */
export async function deleteKeys(
  where: string | { url: string; clusterNodes?: string[] },
  prefix: string,
): Promise<void> {
  const { url, clusterNodes } = typeof where === 'string' ? { url: where, clusterNodes: undefined } : where;
  const clients: Redis[] = [];
  let cluster: Cluster | undefined;
  if (clusterNodes?.length) {
    cluster = new Cluster(clusterNodes.map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })));
    await new Promise<void>((resolve, reject) => {
      cluster!.once('ready', resolve);
      cluster!.once('error', reject);
    });
    clients.push(...cluster.nodes('master'));
  } else {
    clients.push(new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }));
  }
  try {
    for (const redis of clients) {
      if (redis.status === 'wait') await redis.connect();
      const stream = redis.scanStream({ match: `${prefix}*`, count: 1_000 });
      for await (const keys of stream as AsyncIterable<string[]>) {
        // One by one: on a cluster the keys of one scan are in many slots.
        await Promise.all(keys.map((key) => redis.unlink(key)));
      }
    }
  } finally {
    if (cluster) cluster.disconnect();
    else clients.forEach((c) => c.disconnect());
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
