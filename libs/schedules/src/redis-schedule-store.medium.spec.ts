import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { scheduleStoreContract } from '@mesh/contract-suites';
import { RedisScheduleStore } from './redis-schedule-store';

for (const topology of REDIS_TOPOLOGIES) {
  scheduleStoreContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    return Promise.resolve({ store: new RedisScheduleStore(redis), dispose: () => redis.close() });
  });
}
