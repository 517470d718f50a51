import Redis from 'ioredis';

export interface RedisOptions {
  url: string;
  /** Prepended to every key this connection touches (tests isolate with a fresh prefix). */
  keyPrefix: string;
}

/**
 * One Redis client for commands, shared by the repositories of a process.
 * Auto-pipelining turns many concurrent commands into few round trips.
 */
export class RedisConnection {
  readonly client: Redis;

  constructor(readonly options: RedisOptions) {
    this.client = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 2,
      connectTimeout: 3_000,
      // Fail fast when Redis is away (the caller answers 503) instead of queueing for many seconds.
      commandTimeout: 2_000,
      lazyConnect: false,
    });
    // Errors surface on the commands that fail; the client reconnects by itself.
    this.client.on('error', () => undefined);
  }

  /**
   * A new connection without the key prefix, for pub/sub (Socket.IO adapter and emitter).
   * `publisher`: only publishes, so publishes made in one tick go out in one write.
   */
  duplicateForPubSub(use: 'subscriber' | 'publisher' = 'subscriber'): Redis {
    const client = new Redis(this.options.url, {
      maxRetriesPerRequest: null,
      connectTimeout: 3_000,
      enableAutoPipelining: use === 'publisher',
    });
    client.on('error', () => undefined);
    return client;
  }

  async ping(): Promise<void> {
    const reply = await withTimeout(this.client.ping(), 1_000, 'redis did not answer within 1s');
    if (reply !== 'PONG') throw new Error(`unexpected PING reply ${String(reply)}`);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
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
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Command timed out|Connection is closed|Stream isn't writeable|ECONNREFUSED|ETIMEDOUT/.test(err.message)
  );
}
