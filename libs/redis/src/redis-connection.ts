import Redis, { Cluster } from 'ioredis';
import { SlotSubscriber } from './slot-subscriber';

export interface RedisOptions {
  /** A single Redis (`redis://host:port`); not used when `clusterNodes` is given. */
  url: string;
  /** Seed nodes (`host:port`) of a Redis Cluster; the client learns the rest of the cluster from them. */
  clusterNodes?: readonly string[];
  /** Prepended to every key this connection touches (tests isolate with a fresh prefix). */
  keyPrefix: string;
}

/** A client of either topology: the adapters use only what both have (and keep each script's keys in one slot). */
export type RedisClient = Redis | Cluster;

/** A sharded Pub/Sub subscriber of either topology. */
export type Subscriber = Redis | SlotSubscriber;

/** KEYS: any key of the slot (it routes the script to the server holding it). */
const RUN_ID = `return string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')`;

/** Per command: fail fast when Redis is away (the caller answers 503) instead of queueing for many seconds. */
const COMMAND_TIMEOUT_MS = 2_000;

/**
 * One Redis client for commands, shared by the repositories of a process.
 * Auto-pipelining turns many concurrent commands into few round trips (per node, on a cluster).
 *
 * On a Redis Cluster every script's keys must share a hash slot: the adapters
 * name keys with a hash tag (`{m:<market>}`, `{streams}`, …) for that.
 */
export class RedisConnection {
  readonly client: RedisClient;

  constructor(readonly options: RedisOptions) {
    this.client = this.connect({
      keyPrefix: options.keyPrefix,
      enableAutoPipelining: true,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
  }

  /** A Redis Cluster: a script's keys must then share a hash slot. */
  get clustered(): boolean {
    return this.client instanceof Cluster;
  }

  /**
   * A new connection without the key prefix, for classic pub/sub (hints that may be
   * lost, like the outbox's "relayed up to"). `publisher`: only publishes, so publishes
   * made in one tick go out in one write. On a cluster, PUBLISH reaches the subscribers
   * of other nodes over the cluster's bus, which drops what it had queued for a node
   * that stalled; what must arrive goes sharded (`publisher`, `shardedSubscriber`).
   */
  duplicateForPubSub(use: 'subscriber' | 'publisher' = 'subscriber'): RedisClient {
    return this.connect({ enableAutoPipelining: use === 'publisher', maxRetriesPerRequest: null });
  }

  /**
   * Publishes pushes with SPUBLISH: to the master serving the channel's slot (routed by
   * the cluster client), in the order published, never over the cluster's bus.
   */
  publisher(): RedisClient {
    return this.duplicateForPubSub('publisher');
  }

  /**
   * Subscribes with SSUBSCRIBE (channels of one slot). On a cluster, on the master serving
   * their slot, moved to the one that takes over. Either says `close` when the subscription
   * went and `ready` once it is back, subscribed again.
   */
  shardedSubscriber(): Subscriber {
    if (this.client instanceof Cluster) return new SlotSubscriber(this.client);
    return this.connect({ enableAutoPipelining: false, maxRetriesPerRequest: null }) as Redis;
  }

  /**
   * Defines a Lua script as a command of the shared client. A script whose number
   * of keys varies per call (no `numberOfKeys`) is not auto-pipelined on a cluster:
   * ioredis would route its pipeline by the key count instead of a key.
   */
  defineScript(name: string, lua: string, numberOfKeys?: number): void {
    this.client.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
    if (numberOfKeys === undefined && this.client instanceof Cluster) {
      this.client.options.autoPipeliningIgnoredCommands?.push(name);
    }
  }

  /** A connection of its own (same key prefix) for blocking reads, which must not sit in front of other commands. */
  duplicateForBlocking(): RedisClient {
    return this.connect({ keyPrefix: this.options.keyPrefix, enableAutoPipelining: false });
  }

  /**
   * Names the run of the server holding `key`'s slot: it changes when that server
   * restarts or, on a cluster, a replica takes over (either may have less than it had).
   */
  async serverRunId(key: string): Promise<string> {
    const runId = await this.client.eval(RUN_ID, 1, key);
    if (typeof runId !== 'string' || runId === '') throw new Error('Redis INFO names no run_id');
    return runId;
  }

  async ping(): Promise<void> {
    const reply = await withTimeout(this.client.ping(), 1_000, 'redis did not answer within 1s');
    if (reply !== 'PONG') throw new Error(`unexpected PING reply ${String(reply)}`);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private connect(options: {
    keyPrefix?: string;
    enableAutoPipelining: boolean;
    commandTimeout?: number;
    maxRetriesPerRequest?: number | null;
  }): RedisClient {
    const node = {
      connectTimeout: 3_000,
      maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
      commandTimeout: options.commandTimeout,
    };
    const seeds = this.options.clusterNodes;
    const client: RedisClient =
      seeds && seeds.length > 0
        ? new Cluster(
            seeds.map((seed) => {
              const [host = '127.0.0.1', port = '6379'] = seed.split(':');
              return { host, port: Number(port) };
            }),
            {
              keyPrefix: options.keyPrefix,
              enableAutoPipelining: options.enableAutoPipelining,
              // Writes and the reads that decide them go to masters only: a replica may lag.
              scaleReads: 'master',
              // A failover (a replica promoted) takes the cluster's node timeout; commands retry through it.
              retryDelayOnFailover: 100,
              retryDelayOnClusterDown: 100,
              redisOptions: node,
            },
          )
        : new Redis(this.options.url, {
            ...node,
            keyPrefix: options.keyPrefix,
            enableAutoPipelining: options.enableAutoPipelining,
          });
    // Errors surface on the commands that fail; the client reconnects by itself.
    client.on('error', () => undefined);
    return client;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether an error means Redis could not be reached (as opposed to a bad command):
 * the edge answers those with 503, as API.md asks when a dependency is down.
 * On a cluster that includes a shard without a master while its replica is promoted, and a
 * redirection the client could not follow then (MOVED inside an auto-pipeline), a node still
 * loading its data, or a write that reached a master just demoted.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.name === 'ClusterAllFailedError' ||
    /Command timed out|Connection is closed|Stream isn't writeable|ECONNREFUSED|ETIMEDOUT|CLUSTERDOWN|TRYAGAIN|^MOVED |^ASK |^LOADING|^READONLY|^MASTERDOWN|Too many Cluster redirections|None of startup nodes is available|Failed to refresh slots cache/.test(
      err.message,
    )
  );
}
