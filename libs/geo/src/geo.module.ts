import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { redisOrMemory } from '@mesh/redis';
import { CourierGeoRepository } from './courier-geo.repository';
import { MemoryCourierGeoRepository } from './memory-courier-geo.repository';
import { RedisCourierGeoRepository } from './redis-courier-geo.repository';

/** Provides the CourierGeoRepository: Redis for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class GeoModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider = redisOrMemory(config, CourierGeoRepository, {
      memory: () => new MemoryCourierGeoRepository(),
      redis: (redis) => new RedisCourierGeoRepository(redis),
    });
    return { module: GeoModule, providers: [provider], exports: [CourierGeoRepository] };
  }
}
