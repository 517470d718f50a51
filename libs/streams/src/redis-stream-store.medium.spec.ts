import { RedisOutbox } from '@mesh/outbox';
import { RedisConnection } from '@mesh/redis';
import { streamStoreContract, uniqueName } from '@mesh/testing';
import { RedisStreamStore } from './redis-stream-store';

streamStoreContract('Redis', () => {
  const redis = new RedisConnection({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${uniqueName('t')}:`,
  });
  const outbox = new RedisOutbox(redis);
  return Promise.resolve({
    store: new RedisStreamStore(redis),
    outbox,
    dispose: async () => {
      await outbox.close();
      await redis.close();
    },
  });
});
