import { type DynamicModule, Global, Module, type OnApplicationShutdown, Optional } from '@nestjs/common';
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
