import { type DynamicModule, Global, Module, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { RedisConnection } from '@mesh/redis';
import type Redis from 'ioredis';
import { ClientPush } from './client-push.port';
import { InProcessClientPush } from './in-process-client-push';
import { RedisClientPush } from './redis-client-push';

const EMITTER_CLIENT = Symbol('EMITTER_CLIENT');

/** Provides ClientPush: the Redis emitter for `ADAPTERS=real`, the in-process server for the embedded default. */
@Global()
@Module({})
export class RealtimeModule implements OnApplicationShutdown {
  constructor(@Optional() private readonly push?: ClientPush) {}

  static forRoot(config: AppConfig): DynamicModule {
    if (config.adapters === 'memory') {
      const inProcess = new InProcessClientPush();
      return {
        module: RealtimeModule,
        providers: [
          { provide: InProcessClientPush, useValue: inProcess },
          { provide: ClientPush, useValue: inProcess },
        ],
        exports: [ClientPush, InProcessClientPush],
      };
    }
    return {
      module: RealtimeModule,
      providers: [
        {
          provide: EMITTER_CLIENT,
          inject: [RedisConnection],
          useFactory: (r: RedisConnection) => r.duplicateForPubSub('publisher'),
        },
        {
          provide: ClientPush,
          inject: [EMITTER_CLIENT],
          useFactory: (client: Redis) => new RedisClientPush(client, config.redis.keyPrefix),
        },
      ],
      exports: [ClientPush],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.push instanceof RedisClientPush) await this.push.close();
  }
}
