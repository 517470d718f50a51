import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { redisOrMemory } from '@mesh/redis';
import { MemoryScheduleStore } from './memory-schedule-store';
import { RedisScheduleStore } from './redis-schedule-store';
import { ScheduleStore } from './schedule-store.port';

/** Provides the ScheduleStore: Redis for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class SchedulesModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider = redisOrMemory(config, ScheduleStore, {
      memory: () => new MemoryScheduleStore(),
      redis: (redis) => new RedisScheduleStore(redis),
    });
    return { module: SchedulesModule, providers: [provider], exports: [ScheduleStore] };
  }
}
