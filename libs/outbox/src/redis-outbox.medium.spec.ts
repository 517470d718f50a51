import { RedisConnection } from '@mesh/redis';
import { outboxContract, uniqueName } from '@mesh/testing';
import { RedisOutbox } from './redis-outbox';

outboxContract('Redis', () => {
  const options = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: `${uniqueName('t')}:` };
  const [one, two] = [new RedisConnection(options), new RedisConnection(options)];
  const [outbox, peer] = [new RedisOutbox(one), new RedisOutbox(two)];
  return Promise.resolve({
    outbox,
    peer,
    dispose: async () => {
      await Promise.all([outbox.close(), peer.close()]);
      await Promise.all([one.close(), two.close()]);
    },
  });
});
