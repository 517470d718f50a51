import { RedisConnection } from '@mesh/redis';
import { scheduleStoreContract, uniqueName } from '@mesh/testing';
import { RedisScheduleStore } from './redis-schedule-store';

scheduleStoreContract('Redis', () => {
  const redis = new RedisConnection({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${uniqueName('t')}:`,
  });
  return Promise.resolve({ store: new RedisScheduleStore(redis), dispose: () => redis.close() });
});
