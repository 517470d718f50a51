import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { redisOrMemory } from '@mesh/redis';
import { CourierGeoRepository } from './courier-geo.repository';
import { MemoryCourierGeoRepository } from './memory-courier-geo.repository';
import { Markets } from './markets';
import { RedisCourierGeoRepository } from './redis-courier-geo.repository';

/** Provides the CourierGeoRepository (Redis for `ADAPTERS=real`, in-memory for the embedded default) and the Markets. */
@Global()
@Module({})
export class GeoModule {
  static forRoot(config: AppConfig): DynamicModule {
    const markets = new Markets(config.markets);
    const provider = redisOrMemory(config, CourierGeoRepository, {
      memory: () => new MemoryCourierGeoRepository(markets),
      redis: (redis) => new RedisCourierGeoRepository(redis, markets),
    });
    return {
      module: GeoModule,
      providers: [provider, { provide: Markets, useValue: markets }],
      exports: [CourierGeoRepository, Markets],
    };
  }
}
