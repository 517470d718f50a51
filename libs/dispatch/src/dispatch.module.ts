import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { CourierGeoRepository, MemoryCourierGeoRepository } from '@mesh/geo';
import { RedisConnection } from '@mesh/redis';
import { DispatchStore } from './dispatch-store.port';
import { MemoryDispatchStore } from './memory-dispatch-store';
import { OrderEventPublisher } from './order-events';
import { RedisDispatchStore } from './redis-dispatch-store';

/** Provides the DispatchStore: Redis for `ADAPTERS=real`, in-memory (over the in-memory couriers) otherwise. */
@Global()
@Module({})
export class DispatchModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider =
      config.adapters === 'memory'
        ? {
            provide: DispatchStore,
            inject: [CourierGeoRepository],
            useFactory: (couriers: CourierGeoRepository) => {
              if (!(couriers instanceof MemoryCourierGeoRepository)) {
                throw new Error('the in-memory dispatch store needs the in-memory courier repository');
              }
              return new MemoryDispatchStore(couriers);
            },
          }
        : {
            provide: DispatchStore,
            inject: [RedisConnection],
            useFactory: (redis: RedisConnection) => new RedisDispatchStore(redis),
          };
    return {
      module: DispatchModule,
      providers: [provider, OrderEventPublisher],
      exports: [DispatchStore, OrderEventPublisher],
    };
  }
}
