import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '@mesh/config';
import { outboxShards, redisOrMemory } from '@mesh/redis';
import { MemoryOutbox } from './memory-outbox';
import { OutboxHandoff } from './outbox-handoff';
import { OutboxRelay } from './outbox-relay';
import { Outbox } from './outbox.port';
import { RedisOutbox } from './redis-outbox';

/** Provides the Outbox (Redis stream for `ADAPTERS=real`, in-memory otherwise) and runs a relay in the process. */
@Global()
@Module({})
export class OutboxModule {
  static forRoot(config: AppConfig): DynamicModule {
    const shards = outboxShards(config.markets.map((m) => m.name));
    const provider = redisOrMemory(config, Outbox, {
      memory: () => new MemoryOutbox(shards),
      redis: (redis) => new RedisOutbox(redis, shards),
    });
    return {
      module: OutboxModule,
      providers: [provider, OutboxRelay, OutboxHandoff],
      exports: [Outbox, OutboxHandoff],
    };
  }
}
