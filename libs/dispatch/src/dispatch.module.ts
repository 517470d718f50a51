import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { CourierGeoRepository, Markets, MemoryCourierGeoRepository } from '@mesh/geo';
import { MemoryOutbox, Outbox } from '@mesh/outbox';
import { RedisConnection } from '@mesh/redis';
import { DispatchStore } from './dispatch-store.port';
import { MemoryDispatchStore } from './memory-dispatch-store';
import { OrderEventPublisher } from './order-events';
import { RedisDispatchStore } from './redis-dispatch-store';

/** Provides the DispatchStore: Redis for `ADAPTERS=real`, in-memory (over the in-memory couriers and outbox) otherwise. */
@Global()
@Module({})
export class DispatchModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider =
      config.adapters === 'memory'
        ? {
            provide: DispatchStore,
            inject: [CourierGeoRepository, Outbox],
            useFactory: (couriers: CourierGeoRepository, outbox: Outbox) => {
              if (!(couriers instanceof MemoryCourierGeoRepository) || !(outbox instanceof MemoryOutbox)) {
                throw new Error('the in-memory dispatch store needs the in-memory courier repository and outbox');
              }
              return new MemoryDispatchStore(couriers, outbox);
            },
          }
        : {
            provide: DispatchStore,
            inject: [RedisConnection, Markets],
            useFactory: (redis: RedisConnection, markets: Markets) => new RedisDispatchStore(redis, markets),
          };
    return {
      module: DispatchModule,
      providers: [provider, OrderEventPublisher],
      exports: [DispatchStore, OrderEventPublisher],
    };
  }
}
