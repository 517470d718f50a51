import { RedisCourierGeoRepository } from '@mesh/geo';
import { RedisOutbox } from '@mesh/outbox';
import { outboxShards } from '@mesh/redis';
import { REDIS_TOPOLOGIES, isolatedRedis, testMarkets } from '@mesh/harness';
import { dispatchStoreContract } from '@mesh/contract-suites';
import { RedisDispatchStore } from './redis-dispatch-store';

for (const topology of REDIS_TOPOLOGIES) {
  dispatchStoreContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    const markets = testMarkets();
    const outbox = new RedisOutbox(redis, outboxShards(markets.names));
    return Promise.resolve({
      store: new RedisDispatchStore(redis, markets),
      couriers: new RedisCourierGeoRepository(redis, markets),
      outbox,
      markets,
      dispose: async () => {
        await outbox.close();
        await redis.close();
      },
    });
  });
}
