import { RedisConnection } from '@mesh/redis';
import { courierGeoContract, uniqueName } from '@mesh/testing';
import { RedisCourierGeoRepository } from './redis-courier-geo.repository';

courierGeoContract('Redis', () => {
  const redis = new RedisConnection({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${uniqueName('t')}:`,
  });
  return Promise.resolve({ repo: new RedisCourierGeoRepository(redis), dispose: () => redis.close() });
});
