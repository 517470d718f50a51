import { RedisConnection } from '@mesh/redis';
import { clientPushContract, uniqueName } from '@mesh/testing';
import { createAdapter } from '@socket.io/redis-adapter';
import { socketIoChannel } from './client-push.port';
import { RedisClientPush } from './redis-client-push';

clientPushContract('Redis emitter', () => {
  const keyPrefix = `${uniqueName('t')}:`;
  const redis = new RedisConnection({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix });
  const [pub, sub] = [redis.duplicateForPubSub(), redis.duplicateForPubSub()];
  const push = new RedisClientPush(redis.duplicateForPubSub(), keyPrefix);
  return Promise.resolve({
    push,
    attach: (server) => server.adapter(createAdapter(pub, sub, { key: socketIoChannel(keyPrefix) })),
    dispose: async () => {
      await Promise.all([push.close(), pub.quit(), sub.quit(), redis.close()]);
    },
  });
});
