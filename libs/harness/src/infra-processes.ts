import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { eventually } from './eventually';

/** A dependency run as a child process of its own, so a fault test can SIGKILL it by pid and start it again. */
export interface InfraProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** Sends `signal` and waits for the process to be gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data (`wipe`: with its data directory emptied first). */
  start(options?: { wipe?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

class ChildInfra implements InfraProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly dataDir: string,
    private readonly launch: () => ChildProcess,
    private readonly prepare: () => void,
    private readonly ready: () => Promise<void>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start({ wipe = false }: { wipe?: boolean } = {}): Promise<void> {
    if (wipe) rmSync(this.dataDir, { recursive: true, force: true });
    mkdirSync(this.dataDir, { recursive: true });
    this.prepare();
    const child = this.launch();
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await this.ready();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.exited;
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }
}

/**
 * Debian's redis-server on `port`, persisting to an append-only file in `dir` as infra.sh runs it;
 * with `cluster`, as a node of a Redis Cluster (infra.sh's cluster settings).
 */
export function redisServer(port: number, dir: string, { cluster = false }: { cluster?: boolean } = {}): InfraProcess {
  const url = `redis://127.0.0.1:${port}`;
  return new ChildInfra(
    `redis:${port}`,
    dir,
    () =>
      spawn(
        'redis-server',
        [
          ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', ''],
          ...['--appendonly', 'yes', '--appendfsync', 'everysec'],
          ...(cluster
            ? [
                ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
                ...['--cluster-node-timeout', '500', '--cluster-replica-validity-factor', '0'],
              ]
            : []),
        ],
        { stdio: 'ignore' },
      ),
    () => undefined,
    () =>
      eventually(
        async () => {
          const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          redis.on('error', () => undefined);
          try {
            await redis.connect();
            // Loading the append-only file answers LOADING until done.
            if ((await redis.ping()) !== 'PONG') throw new Error('redis not ready');
          } finally {
            redis.disconnect();
          }
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      ),
  );
}

/** Where infra.sh's `--cluster` Kafka listens: brokers (node ids 1, 2, 3) and a quorum of controllers (101, 102, 103). */
export interface KafkaQuorum {
  ports: readonly number[];
  controllerPorts: readonly number[];
  /** One cluster id for every node's storage. */
  clusterId: string;
}

/** The broker settings of infra/kafka, which infra.sh gives its brokers too. */
const kafkaSettings = (file: 'broker' | 'cluster') =>
  readFileSync(join(ROOT, 'infra', 'kafka', `${file}.properties`), 'utf8');

/**
 * A single-node Apache Kafka (KRaft, broker and controller in one process) from the
 * jars `npm run infra:up` resolved, with the settings infra.sh gives the shared one.
 */
export function kafkaBroker(port: number, controllerPort: number, dir: string): InfraProcess {
  return kafkaNode(`kafka:${port}`, dir, port, randomBytes(16).toString('base64url').replace(/^-/, 'A'), [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    kafkaSettings('broker'),
  ]);
}

/**
 * infra.sh's `--cluster` Kafka on ports of its own: three controllers, a KRaft quorum
 * apart from the brokers, and three brokers (replication 3, min.insync.replicas 2),
 * each node a process a fault test can kill.
 */
export function kafkaCluster(
  quorum: KafkaQuorum,
  dir: string,
): { controllers: InfraProcess[]; brokers: InfraProcess[] } {
  const voters = `controller.quorum.voters=${quorum.controllerPorts.map((p, i) => `${101 + i}@127.0.0.1:${p}`).join(',')}`;
  const shared = [voters, kafkaSettings('broker'), kafkaSettings('cluster')];
  return {
    controllers: quorum.controllerPorts.map((port, i) =>
      kafkaNode(`kafka-controller:${port}`, join(dir, `controller-${i + 1}`), null, quorum.clusterId, [
        'process.roles=controller',
        `node.id=${101 + i}`,
        `listeners=CONTROLLER://127.0.0.1:${port}`,
        ...shared,
      ]),
    ),
    brokers: quorum.ports.map((port, i) =>
      kafkaNode(`kafka:${port}`, join(dir, `broker-${i + 1}`), port, quorum.clusterId, [
        'process.roles=broker',
        `node.id=${i + 1}`,
        `listeners=PLAINTEXT://127.0.0.1:${port}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        ...shared,
      ]),
    ),
  };
}

/** One Kafka node of `settings`; ready when its broker lists topics (`port`), or a controller once it is up. */
function kafkaNode(
  name: string,
  dir: string,
  port: number | null,
  clusterId: string,
  settings: readonly string[],
): InfraProcess {
  const libs = join(process.env.MESH_INFRA_DIR ?? join(ROOT, 'infra', '.cache'), 'kafka', 'libs');
  const properties = join(dir, 'server.properties');
  const heap = port === null ? ['-Xms128m', '-Xmx256m'] : ['-Xms256m', '-Xmx512m'];
  const jvm = [...heap, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true'];
  const java = (args: string[]) => ['-cp', `${libs}/*`, ...args];
  return new ChildInfra(
    name,
    dir,
    () =>
      spawn('java', [...jvm, `-Dkafka.logs.dir=${join(dir, 'logs')}`, ...java(['kafka.Kafka', properties])], {
        stdio: 'ignore',
      }),
    () => {
      if (!existsSync(libs)) throw new Error(`no Kafka jars in ${libs}: run npm run infra:up first`);
      writeFileSync(properties, [...settings, `log.dirs=${join(dir, 'data')}`].join('\n'));
      if (!existsSync(join(dir, 'data', 'meta.properties'))) {
        // As its own option (=): a base64url id may begin with '-', which the tool would read as a flag.
        const format = spawnSync(
          'java',
          ['-Xmx256m', ...java(['kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', properties])],
          { encoding: 'utf8' },
        );
        if (format.status !== 0) throw new Error(`formatting Kafka storage failed: ${format.stderr}`);
      }
    },
    async () => {
      // A controller answers no client: the brokers' readiness waits for the quorum.
      if (port === null) return;
      await eventually(
        async () => {
          const admin = new Kafka({
            clientId: 'infra-ready',
            brokers: [`127.0.0.1:${port}`],
            logLevel: logLevel.NOTHING,
            retry: { retries: 0 },
          }).admin();
          try {
            await admin.connect();
            await admin.listTopics();
          } finally {
            await admin.disconnect();
          }
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
    },
  );
}

/**
 * SeaweedFS (master, volume, filer and S3 gateway in one `weed server`), from the
 * binary `npm run infra:up` built, on `ports` (its gRPC ports given too, as the
 * defaults of port + 10000 may not exist), with the mesh's buckets created.
 */
export function objectStoreServer(
  ports: { s3: number; master: number; volume: number; filer: number; grpc: [number, number, number, number] },
  dir: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): InfraProcess & { url: string } {
  const weed = join(ROOT, '.tools', 'bin', 'weed');
  const s3Config = join(dir, 's3.json');
  const url = `http://127.0.0.1:${ports.s3}`;
  const server = new ChildInfra(
    `weed:${ports.s3}`,
    dir,
    () =>
      spawn(
        weed,
        [
          'server',
          `-dir=${join(dir, 'data')}`,
          '-ip=127.0.0.1',
          '-ip.bind=127.0.0.1',
          `-master.port=${ports.master}`,
          `-master.port.grpc=${ports.grpc[0]}`,
          '-master.volumeSizeLimitMB=64',
          `-volume.port=${ports.volume}`,
          `-volume.port.grpc=${ports.grpc[1]}`,
          '-volume.max=0',
          '-filer',
          `-filer.port=${ports.filer}`,
          `-filer.port.grpc=${ports.grpc[2]}`,
          '-s3',
          `-s3.port=${ports.s3}`,
          `-s3.port.grpc=${ports.grpc[3]}`,
          `-s3.config=${s3Config}`,
        ],
        { stdio: 'ignore' },
      ),
    () => {
      if (!existsSync(weed)) throw new Error(`no SeaweedFS at ${weed}: run npm run infra:up first`);
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(
        s3Config,
        JSON.stringify({
          identities: [
            {
              name: 'mesh',
              credentials: [{ accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey }],
              actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
            },
          ],
        }),
      );
    },
    // The buckets, as infra:up makes them: infra/scripts/buckets.mjs waits for the gateway and creates them.
    async () => {
      const script = join(ROOT, 'infra', 'scripts', 'buckets.mjs');
      const env = {
        ...process.env,
        OBJECT_STORE_URL: url,
        OBJECT_STORE_ACCESS_KEY: credentials.accessKeyId,
        OBJECT_STORE_SECRET_KEY: credentials.secretAccessKey,
      };
      const made = await new Promise<number | null>((resolve) =>
        spawn('node', [script, '--wait', '60'], { env, stdio: 'ignore' }).once('exit', resolve),
      );
      if (made !== 0) throw new Error(`the buckets of the SeaweedFS on ${url} were not made`);
    },
  );
  return Object.assign(server, { url });
}

/**
 * A Redis Cluster of its own: redis-server nodes on `ports` in cluster mode (the
 * first half masters, a replica each for the others, as `redis-cli --cluster
 * create` pairs them), each a child process a fault test can SIGKILL by pid.
 */
export class RedisClusterProcesses {
  readonly nodes: Map<number, InfraProcess>;

  constructor(
    readonly ports: readonly number[],
    dir: string,
  ) {
    this.nodes = new Map(ports.map((port) => [port, redisServer(port, join(dir, String(port)), { cluster: true })]));
  }

  get seeds(): string[] {
    return this.ports.map((port) => `127.0.0.1:${port}`);
  }

  async start(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.start()));
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...this.seeds, '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await this.healthy();
  }

  /** Resolves once every slot is served (after a failover, once the replica took over). */
  healthy(timeoutMs = 30_000): Promise<void> {
    return eventually(
      async () => {
        for (const port of await this.alive()) {
          const info = await this.ask(port, 'cluster', 'info');
          if (!String(info).includes('cluster_state:ok')) throw new Error(`node ${port}: cluster not ok`);
        }
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** The port of the master serving `key`'s hash slot now (give the hash tag, e.g. `{m:west}`). */
  async masterOf(key: string): Promise<number> {
    const [port] = await this.alive();
    const slot = Number(await this.ask(port!, 'cluster', 'keyslot', key));
    const ranges = (await this.ask(port!, 'cluster', 'slots')) as [number, number, [string, number, string]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    return range[2][1];
  }

  node(port: number): InfraProcess {
    const node = this.nodes.get(port);
    if (!node) throw new Error(`no cluster node on ${port}`);
    return node;
  }

  async kill(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.kill()));
  }

  private async alive(): Promise<number[]> {
    const alive = await Promise.all(
      this.ports.map(async (port) => ((await this.ask(port, 'ping').catch(() => null)) === 'PONG' ? port : null)),
    );
    return alive.filter((port): port is number => port !== null);
  }

  private async ask(port: number, ...command: string[]): Promise<unknown> {
    const redis = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await redis.call(command[0]!, ...command.slice(1));
    } finally {
      redis.disconnect();
    }
  }
}

/** The broker leading partition `partition` of `topic` now (its port), as the cluster's metadata says. */
export async function kafkaLeaderOf(brokers: readonly string[], topic: string, partition = 0): Promise<number> {
  const admin = new Kafka({ clientId: 'chaos', brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const leader = meta?.partitions.find((p) => p.partitionId === partition)?.leader;
    const { brokers: known } = await admin.describeCluster();
    const port = known.find((b) => b.nodeId === leader)?.port;
    if (port === undefined) throw new Error(`no leader for ${topic}[${partition}]`);
    return port;
  } finally {
    await admin.disconnect();
  }
}
