import { REDIS_TOPOLOGIES, invocationLedgerContract, isolatedRedis } from '@mesh/testing';
import { RedisInvocationLedger } from './redis-invocation-ledger';

for (const topology of REDIS_TOPOLOGIES) {
  invocationLedgerContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    return Promise.resolve({ ledger: new RedisInvocationLedger(redis), dispose: () => redis.close() });
  });
}
