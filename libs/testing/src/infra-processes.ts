import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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

/** Debian's redis-server on `port`, persisting to an append-only file in `dir` as infra.sh runs it. */
export function redisServer(port: number, dir: string): InfraProcess {
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

/**
 * A single-node Apache Kafka (KRaft) from the jars `npm run infra:up` resolved,
 * with the broker settings infra.sh gives the shared one.
 */
export function kafkaBroker(port: number, controllerPort: number, dir: string): InfraProcess {
  const libs = join(process.env.MESH_INFRA_DIR ?? join(ROOT, 'infra', '.cache'), 'kafka', 'libs');
  const properties = join(dir, 'server.properties');
  const jvm = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true'];
  const java = (args: string[]) => ['-cp', `${libs}/*`, ...args];
  return new ChildInfra(
    `kafka:${port}`,
    dir,
    () =>
      spawn('java', [...jvm, `-Dkafka.logs.dir=${join(dir, 'logs')}`, ...java(['kafka.Kafka', properties])], {
        stdio: 'ignore',
      }),
    () => {
      if (!existsSync(libs)) throw new Error(`no Kafka jars in ${libs}: run npm run infra:up first`);
      writeFileSync(
        properties,
        [
          'process.roles=broker,controller',
          'node.id=1',
          `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
          `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
          'controller.listener.names=CONTROLLER',
          'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          `log.dirs=${join(dir, 'data')}`,
          'num.partitions=12',
          'auto.create.topics.enable=false',
          'offsets.topic.replication.factor=1',
          'offsets.topic.num.partitions=12',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'group.initial.rebalance.delay.ms=0',
          'group.min.session.timeout.ms=1000',
        ].join('\n'),
      );
      if (!existsSync(join(dir, 'data', 'meta.properties'))) {
        // As its own option (=): a base64url id may begin with '-', which the tool would read as a flag.
        const clusterId = randomBytes(16).toString('base64url');
        const format = spawnSync(
          'java',
          ['-Xmx256m', ...java(['kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', properties])],
          { encoding: 'utf8' },
        );
        if (format.status !== 0) throw new Error(`formatting Kafka storage failed: ${format.stderr}`);
      }
    },
    () =>
      eventually(
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
      ),
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
