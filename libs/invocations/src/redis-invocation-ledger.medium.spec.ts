import { RedisConnection } from '@mesh/redis';
import { invocationLedgerContract, uniqueName } from '@mesh/testing';
import { RedisInvocationLedger } from './redis-invocation-ledger';

invocationLedgerContract('Redis', () => {
  const redis = new RedisConnection({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${uniqueName('t')}:`,
  });
  return Promise.resolve({ ledger: new RedisInvocationLedger(redis), dispose: () => redis.close() });
});
