import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '@mesh/config';
import { MemoryOutbox, Outbox } from '@mesh/outbox';
import { RedisConnection } from '@mesh/redis';
import { MemoryStreamStore } from './memory-stream-store';
import { PlaybackSigner } from './playback';
import { RedisStreamStore } from './redis-stream-store';
import { MemoryRoomLeases, RedisRoomLeases, RoomLeases } from './room-leases';
import { StreamStore } from './stream-store.port';

/**
 * Provides the StreamStore and the rooms' leases: Redis for `ADAPTERS=real`, in memory (the store over
 * the in-memory outbox) for the embedded default.
 */
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
    const leases =
      config.adapters === 'memory'
        ? { provide: RoomLeases, useValue: new MemoryRoomLeases() }
        : {
            provide: RoomLeases,
            inject: [RedisConnection],
            useFactory: (redis: RedisConnection) => new RedisRoomLeases(redis),
          };
    const signer = {
      provide: PlaybackSigner,
      useValue: new PlaybackSigner(config.playback.secret, config.playback.ttlS),
    };
    return {
      module: StreamsModule,
      providers: [provider, leases, signer],
      exports: [StreamStore, RoomLeases, PlaybackSigner],
    };
  }
}
