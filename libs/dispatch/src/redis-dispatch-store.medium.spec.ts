import { RedisCourierGeoRepository } from '@mesh/geo';
import { RedisOutbox } from '@mesh/outbox';
import { RedisConnection } from '@mesh/redis';
import { dispatchStoreContract, uniqueName } from '@mesh/testing';
import { RedisDispatchStore } from './redis-dispatch-store';

dispatchStoreContract('Redis', () => {
  const redis = new RedisConnection({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${uniqueName('t')}:`,
  });
  const outbox = new RedisOutbox(redis);
  return Promise.resolve({
    store: new RedisDispatchStore(redis),
    couriers: new RedisCourierGeoRepository(redis),
    outbox,
    dispose: async () => {
      await outbox.close();
      await redis.close();
    },
  });
});
