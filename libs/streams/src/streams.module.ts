import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '@mesh/config';
import { redisOrMemory } from '@mesh/redis';
import { MemoryStreamStore } from './memory-stream-store';
import { RedisStreamStore } from './redis-stream-store';
import { StreamStore } from './stream-store.port';

/** Provides the StreamStore: Redis for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class StreamsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider = redisOrMemory(config, StreamStore, {
      memory: () => new MemoryStreamStore(),
      redis: (redis) => new RedisStreamStore(redis),
    });
    return { module: StreamsModule, providers: [provider], exports: [StreamStore] };
  }
}
