import type { CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';
import { RedisLeases, type RedisClient, type RedisConnection } from '@mesh/redis';
import { DrainWaiters } from './drain-waiters';
import {
  Outbox,
  OutboxLost,
  outboxFields,
  outboxKey,
  outboxLeaseKey,
  outboxRelayedChannel,
  streamIdAtLeast,
  type OutboxEntry,
} from './outbox.port';

// KEYS: outbox. The id of its newest entry, without the entry's body; false when it is empty (all relayed);
// 0 when the stream itself is gone: Redis lost its data since the caller's commit, and what it held with it.
const NEWEST = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if newest[1] then return newest[1][1] end
return false
`;

/**
 * The outbox as one Redis stream per shard: commit scripts XADD the topic and the
 * event in the same script as the change; the relay reads with XREAD (blocking on
 * a connection of the shard's own, so a wait never holds up the shared one or
 * another shard) and deletes what Kafka has.
 */
export class RedisOutbox extends Outbox {
  private readonly blocking = new Map<string, RedisClient>();
  private readonly channels: Map<string, string>;
  private subscriber: RedisClient | undefined;
  private listening: Promise<unknown> | undefined;
  /** Per shard, the newest id a relay has said Kafka has (from the shard's channel). */
  private readonly relayedUpTo = new Map<string, string>();
  private readonly waiters = new DrainWaiters();
  /** Which relay holds each shard. */
  private readonly leases: RedisLeases;

  constructor(
    private readonly redis: RedisConnection,
    readonly shards: readonly string[],
  ) {
    super();
    this.leases = new RedisLeases(redis);
    redis.defineScript('meshOutboxNewest', NEWEST, 1);
    // Channels are not keys: the prefix is added here so that stores with different prefixes do not hear each other.
    this.channels = new Map(shards.map((shard) => [shard, `${redis.options.keyPrefix}${outboxRelayedChannel(shard)}`]));
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }

  async append(shard: string, topic: TopicKey, event: CloudEvent): Promise<void> {
    await this.redis.client.xadd(outboxKey(shard), '*', ...outboxFields(topic, event));
  }

  async read(shard: string, afterId: string, limit: number, waitMs: number): Promise<OutboxEntry[]> {
    const from = afterId || '0-0';
    const key = outboxKey(shard);
    const reply =
      waitMs > 0
        ? await this.blockingFor(shard).xread('COUNT', limit, 'BLOCK', waitMs, 'STREAMS', key, from)
        : await this.redis.client.xread('COUNT', limit, 'STREAMS', key, from);
    const entries = reply?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => {
      const [topic, event] = [fields[1], fields[3]];
      return { id, topic: topic as TopicKey, event: JSON.parse(event ?? 'null') as CloudEvent };
    });
  }

  async remove(shard: string, ids: readonly string[]): Promise<void> {
    const newest = ids.at(-1);
    if (newest === undefined) return;
    await Promise.all([
      this.redis.client.xdel(outboxKey(shard), ...ids),
      this.redis.client.publish(this.channel(shard), newest),
    ]);
  }

  async drained(shard: string, timeoutMs: number): Promise<boolean> {
    // Listening first, then reading the newest id: no announcement after that read can be missed.
    await this.listen();
    const newest = await this.commands.meshOutboxNewest(outboxKey(shard));
    // An emptied stream stays (XDEL keeps the key); a missing one went with Redis' data, unrelayed entries too.
    if (newest === 0) throw new OutboxLost();
    return newest === null ? true : this.waiters.wait(() => this.hasRelayed(shard, newest), timeoutMs);
  }

  async lease(shard: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.leases.acquire(outboxLeaseKey(shard), holder, ttlMs);
  }

  async release(shard: string, holder: string): Promise<void> {
    await this.leases.release(outboxLeaseKey(shard), holder);
  }

  async backlog(): Promise<number> {
    const lengths = await Promise.all(this.shards.map((shard) => this.redis.client.xlen(outboxKey(shard))));
    return lengths.reduce((sum, n) => sum + n, 0);
  }

  close(): Promise<void> {
    for (const client of this.blocking.values()) client.disconnect();
    this.subscriber?.disconnect();
    this.waiters.abandon();
    return Promise.resolve();
  }

  private channel(shard: string): string {
    const channel = this.channels.get(shard);
    if (!channel) throw new Error(`no outbox shard ${shard}`);
    return channel;
  }

  private blockingFor(shard: string): RedisClient {
    let client = this.blocking.get(shard);
    if (!client) {
      client = this.redis.duplicateForBlocking();
      this.blocking.set(shard, client);
    }
    return client;
  }

  private hasRelayed(shard: string, id: string): boolean {
    const upTo = this.relayedUpTo.get(shard);
    return upTo !== undefined && streamIdAtLeast(upTo, id);
  }

  /** Subscribes to the relays' announcements, once, on first use (only processes that wait need it). */
  private listen(): Promise<unknown> {
    if (!this.listening) {
      const shardOf = new Map([...this.channels].map(([shard, channel]) => [channel, shard]));
      const subscriber = (this.subscriber = this.redis.duplicateForPubSub('subscriber'));
      subscriber.on('message', (channel: string, id: string) => {
        const shard = shardOf.get(channel);
        if (shard === undefined) return;
        if (!this.hasRelayed(shard, id)) this.relayedUpTo.set(shard, id);
        this.waiters.check();
      });
      this.listening = subscriber.subscribe(...this.channels.values());
    }
    return this.listening;
  }
}

interface ScriptCommands {
  meshOutboxNewest(key: string): Promise<string | null | 0>;
}
