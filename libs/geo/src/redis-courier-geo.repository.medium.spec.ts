import { REDIS_TOPOLOGIES, isolatedRedis, testMarkets } from '@mesh/harness';
import { courierGeoContract } from '@mesh/contract-suites';
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

/**
 * A courier's app says it is available and where it is at once: the availability change and
 * the fix reach the location function on different partitions (fixes travel in batches keyed
 * by another courier), so two workers may apply them at the same moment, each with no memory
 * of the courier. With the fix outside the home market, they used to make two couriers, one
 * available with no position and one offline at the fix (seen in an end-to-end run).
 */
for (const topology of REDIS_TOPOLOGIES) {
  describe(`Redis couriers (${topology.name}): a new courier's availability and first fix at once`, () => {
    it('ends available where its fix put it, in two processes, whichever lands first', async () => {
      const redis = isolatedRedis(topology);
      const markets = testMarkets();
      try {
        const ids = Array.from({ length: 30 }, (_, i) => `racer-${i}-${Math.random().toString(36).slice(2, 8)}`);
        const spot = (i: number) => ({ lat: -40 + i, lng: 20 + i });
        // Away from home: the fix's market is not the one a courier with no position is kept in.
        expect(markets.of(spot(0))).not.toBe(markets.home);
        await Promise.all(
          ids.map((id, i) => {
            // Each courier met by two workers that have never heard of it.
            const [a, b] = [
              new RedisCourierGeoRepository(redis, markets),
              new RedisCourierGeoRepository(redis, markets),
            ];
            const fix = { ...spot(i), at: new Date().toISOString() };
            return Promise.all([a.setAvailability(id, true), b.recordLocation(id, fix)]);
          }),
        );
        const reader = new RedisCourierGeoRepository(redis, markets);
        const seen = await Promise.all(ids.map((id) => reader.get(id)));
        expect(seen.map((c) => [c.status, c.location?.lat, c.location?.lng])).toEqual(
          ids.map((_, i) => ['available', spot(i).lat, spot(i).lng]),
        );
        // And dispatch finds each there.
        const found = await Promise.all(ids.map((_, i) => reader.nearby({ ...spot(i), radiusM: 1_000, limit: 5 })));
        expect(found.map((near, i) => near.some((c) => c.id === ids[i]))).toEqual(ids.map(() => true));
      } finally {
        await redis.close();
      }
    });
  });
}
