import { RedisOutbox } from '@mesh/outbox';
import { STREAMS_TAG } from '@mesh/redis';
import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { streamStoreContract } from '@mesh/contract-suites';
import { RedisStreamStore } from './redis-stream-store';

for (const topology of REDIS_TOPOLOGIES) {
  streamStoreContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    const outbox = new RedisOutbox(redis, [STREAMS_TAG]);
    return Promise.resolve({
      store: new RedisStreamStore(redis),
      outbox,
      dispose: async () => {
        await outbox.close();
        await redis.close();
      },
    });
  });
}
