import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { invocationLedgerContract } from '@mesh/contract-suites';
import { RedisInvocationLedger } from './redis-invocation-ledger';

for (const topology of REDIS_TOPOLOGIES) {
  invocationLedgerContract(`Redis (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    return Promise.resolve({ ledger: new RedisInvocationLedger(redis), dispose: () => redis.close() });
  });
}
