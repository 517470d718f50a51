import { type DynamicModule, Global, Module, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { RedisConnection } from '@mesh/redis';
import type { RedisClient } from '@mesh/redis';
import { ClientPush } from './client-push.port';
import { InProcessClientPush } from './in-process-client-push';
import { MemoryPushHistory } from './memory-push-history';
import { PushHistory } from './push-history.port';
import { RedisPushHistory } from './redis-push-history';
import { RedisClientPush } from './redis-client-push';

const EMITTER_CLIENT = Symbol('EMITTER_CLIENT');

/** Provides ClientPush: the Redis emitter for `ADAPTERS=real`, the in-process server for the embedded default. */
@Global()
@Module({})
export class RealtimeModule implements OnApplicationShutdown {
  constructor(@Optional() private readonly push?: ClientPush) {}

  static forRoot(config: AppConfig): DynamicModule {
    const limits = config.recovery;
    if (config.adapters === 'memory') {
      const history = new MemoryPushHistory(limits);
      const inProcess = new InProcessClientPush(history);
      return {
        module: RealtimeModule,
        providers: [
          { provide: PushHistory, useValue: history },
          { provide: InProcessClientPush, useValue: inProcess },
          { provide: ClientPush, useValue: inProcess },
        ],
        exports: [ClientPush, InProcessClientPush, PushHistory],
      };
    }
    return {
      module: RealtimeModule,
      providers: [
        {
          provide: PushHistory,
          inject: [RedisConnection],
          useFactory: (r: RedisConnection) => new RedisPushHistory(r, limits),
        },
        {
          provide: EMITTER_CLIENT,
          inject: [RedisConnection],
          useFactory: (r: RedisConnection) => r.publisher(),
        },
        {
          provide: ClientPush,
          inject: [EMITTER_CLIENT, PushHistory],
          useFactory: (client: RedisClient, history: PushHistory) =>
            new RedisClientPush(client, config.redis.keyPrefix, history),
        },
      ],
      exports: [ClientPush, PushHistory],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.push instanceof RedisClientPush) await this.push.close();
  }
}
