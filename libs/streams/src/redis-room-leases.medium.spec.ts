import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { roomLeasesContract } from '@mesh/contract-suites';
import { RedisRoomLeases } from './room-leases';

for (const topology of REDIS_TOPOLOGIES) {
  roomLeasesContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    return Promise.resolve({ leases: new RedisRoomLeases(redis), dispose: () => redis.close() });
  });
}
