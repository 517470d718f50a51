import { RedisConnection } from '@mesh/redis';
import { clientPushContract, uniqueName } from '@mesh/testing';
import { createAdapter } from '@socket.io/redis-adapter';
import { socketIoChannel } from './client-push.port';
import { RedisClientPush } from './redis-client-push';
import { RedisPushHistory } from './redis-push-history';

clientPushContract('Redis emitter', () => {
  const keyPrefix = `${uniqueName('t')}:`;
  const redis = new RedisConnection({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix });
  const [pub, sub] = [redis.duplicateForPubSub(), redis.duplicateForPubSub()];
  const history = new RedisPushHistory(redis, { windowMs: 60_000, maxPerRoom: 10 });
  const push = new RedisClientPush(redis.duplicateForPubSub(), keyPrefix, history);
  return Promise.resolve({
    push,
    history,
    attach: (server) => server.adapter(createAdapter(pub, sub, { key: socketIoChannel(keyPrefix) })),
    dispose: async () => {
      await Promise.all([push.close(), pub.quit(), sub.quit(), redis.close()]);
    },
  });
});
