import { REDIS_TOPOLOGIES, courierGeoContract, isolatedRedis, testMarkets } from '@mesh/testing';
import { RedisCourierGeoRepository } from './redis-courier-geo.repository';

for (const topology of REDIS_TOPOLOGIES) {
  courierGeoContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    const markets = testMarkets();
    return Promise.resolve({
      repo: new RedisCourierGeoRepository(redis, markets),
      markets,
      dispose: () => redis.close(),
    });
  });
}
