import {
  type Abstract,
  type DynamicModule,
  Global,
  Module,
  type OnApplicationShutdown,
  Optional,
  type Provider,
} from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { RedisConnection } from './redis-connection';

/** Provides the process's RedisConnection when running on the real adapters. */
@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Optional() private readonly redis?: RedisConnection) {}

  static forRoot(config: AppConfig): DynamicModule {
    const providers =
      config.adapters === 'real'
        ? [{ provide: RedisConnection, useFactory: () => new RedisConnection(config.redis) }]
        : [];
    return { module: RedisModule, providers, exports: providers.map((p) => p.provide) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}

/**
 * Provides a port by the process's adapters: the Redis adapter over the shared
 * connection for `ADAPTERS=real`, the in-memory one for the embedded default.
 */
export function redisOrMemory<T>(
  config: AppConfig,
  port: Abstract<T>,
  adapters: { memory: () => T; redis: (redis: RedisConnection) => T },
): Provider {
  return config.adapters === 'memory'
    ? { provide: port, useFactory: adapters.memory }
    : { provide: port, inject: [RedisConnection], useFactory: adapters.redis };
}
