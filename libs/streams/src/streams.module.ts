import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '@mesh/config';
import { MemoryOutbox, Outbox } from '@mesh/outbox';
import { RedisConnection } from '@mesh/redis';
import { MemoryStreamStore } from './memory-stream-store';
import { PlaybackSigner } from './playback';
import { RedisStreamStore } from './redis-stream-store';
import { StreamStore } from './stream-store.port';

/** Provides the StreamStore: Redis for `ADAPTERS=real`, in-memory (over the in-memory outbox) for the embedded default. */
@Global()
@Module({})
export class StreamsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider =
      config.adapters === 'memory'
        ? {
            provide: StreamStore,
            inject: [Outbox],
            useFactory: (outbox: Outbox) => {
              if (!(outbox instanceof MemoryOutbox))
                throw new Error('the in-memory stream store needs the in-memory outbox');
              return new MemoryStreamStore(outbox);
            },
          }
        : {
            provide: StreamStore,
            inject: [RedisConnection],
            useFactory: (redis: RedisConnection) => new RedisStreamStore(redis),
          };
    const signer = {
      provide: PlaybackSigner,
      useValue: new PlaybackSigner(config.playback.secret, config.playback.ttlS),
    };
    return { module: StreamsModule, providers: [provider, signer], exports: [StreamStore, PlaybackSigner] };
  }
}
