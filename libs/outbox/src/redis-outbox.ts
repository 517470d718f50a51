import type { CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';
import type { RedisConnection } from '@mesh/redis';
import type Redis from 'ioredis';
import { DrainWaiters } from './drain-waiters';
import {
  OUTBOX_KEY,
  OUTBOX_LEASE_KEY,
  OUTBOX_RELAYED_CHANNEL,
  Outbox,
  OutboxLost,
  outboxFields,
  streamIdAtLeast,
  type OutboxEntry,
} from './outbox.port';

// KEYS: lease. ARGV: holder, ttl ms
const LEASE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

// KEYS: lease. ARGV: holder
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: outbox. The id of its newest entry, without the entry's body; false when it is empty (all relayed);
// 0 when the stream itself is gone: Redis lost its data since the caller's commit, and what it held with it.
const NEWEST = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if newest[1] then return newest[1][1] end
return false
`;

/**
 * The outbox as a Redis stream: commit scripts XADD the topic and the event in
 * the same script as the change; the relay reads with XREAD (blocking on a
 * connection of its own, so a wait never holds up the shared one) and deletes
 * what Kafka has.
 */
export class RedisOutbox extends Outbox {
  private readonly blocking: Redis;
  private readonly channel: string;
  private subscriber: Redis | undefined;
  private listening: Promise<unknown> | undefined;
  /** The newest id a relay has said Kafka has (from the channel). */
  private relayedUpTo: string | undefined;
  private readonly waiters = new DrainWaiters();

  constructor(private readonly redis: RedisConnection) {
    super();
    // Same prefix as the shared connection; a blocked XREAD must not sit in front of other commands.
    this.blocking = redis.client.duplicate({ enableAutoPipelining: false, commandTimeout: undefined });
    this.blocking.on('error', () => undefined);
    redis.client.defineCommand('meshOutboxLease', { numberOfKeys: 1, lua: LEASE });
    redis.client.defineCommand('meshOutboxRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.client.defineCommand('meshOutboxNewest', { numberOfKeys: 1, lua: NEWEST });
    // Channels are not keys: the prefix is added here so that stores with different prefixes do not hear each other.
    this.channel = `${redis.options.keyPrefix}${OUTBOX_RELAYED_CHANNEL}`;
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }

  async append(topic: TopicKey, event: CloudEvent): Promise<void> {
    await this.redis.client.xadd(OUTBOX_KEY, '*', ...outboxFields(topic, event));
  }

  async read(afterId: string, limit: number, waitMs: number): Promise<OutboxEntry[]> {
    const from = afterId || '0-0';
    const reply =
      waitMs > 0
        ? await this.blocking.xread('COUNT', limit, 'BLOCK', waitMs, 'STREAMS', OUTBOX_KEY, from)
        : await this.redis.client.xread('COUNT', limit, 'STREAMS', OUTBOX_KEY, from);
    const entries = reply?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => {
      const [topic, event] = [fields[1], fields[3]];
      return { id, topic: topic as TopicKey, event: JSON.parse(event ?? 'null') as CloudEvent };
    });
  }

  async remove(ids: readonly string[]): Promise<void> {
    const newest = ids.at(-1);
    if (newest === undefined) return;
    await Promise.all([this.redis.client.xdel(OUTBOX_KEY, ...ids), this.redis.client.publish(this.channel, newest)]);
  }

  async drained(timeoutMs: number): Promise<boolean> {
    // Listening first, then reading the newest id: no announcement after that read can be missed.
    await this.listen();
    const newest = await this.commands.meshOutboxNewest(OUTBOX_KEY);
    // An emptied stream stays (XDEL keeps the key); a missing one went with Redis' data, unrelayed entries too.
    if (newest === 0) throw new OutboxLost();
    return newest === null ? true : this.waiters.wait(() => this.hasRelayed(newest), timeoutMs);
  }

  async lease(holder: string, ttlMs: number): Promise<boolean> {
    return (await this.commands.meshOutboxLease(OUTBOX_LEASE_KEY, holder, ttlMs)) === 1;
  }

  async release(holder: string): Promise<void> {
    await this.commands.meshOutboxRelease(OUTBOX_LEASE_KEY, holder);
  }

  backlog(): Promise<number> {
    return this.redis.client.xlen(OUTBOX_KEY);
  }

  close(): Promise<void> {
    this.blocking.disconnect();
    this.subscriber?.disconnect();
    this.waiters.abandon();
    return Promise.resolve();
  }

  private hasRelayed(id: string): boolean {
    return this.relayedUpTo !== undefined && streamIdAtLeast(this.relayedUpTo, id);
  }

  /** Subscribes to the relay's announcements, once, on first use (only processes that wait need it). */
  private listen(): Promise<unknown> {
    if (!this.listening) {
      const subscriber = (this.subscriber = this.redis.duplicateForPubSub('subscriber'));
      subscriber.on('message', (_channel: string, id: string) => {
        if (!this.hasRelayed(id)) this.relayedUpTo = id;
        this.waiters.check();
      });
      this.listening = subscriber.subscribe(this.channel);
    }
    return this.listening;
  }
}

interface ScriptCommands {
  meshOutboxLease(key: string, holder: string, ttlMs: number): Promise<number>;
  meshOutboxRelease(key: string, holder: string): Promise<number>;
  meshOutboxNewest(key: string): Promise<string | null | 0>;
}
