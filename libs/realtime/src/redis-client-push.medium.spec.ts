import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { clientPushContract } from '@mesh/contract-suites';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { socketIoChannel } from './client-push.port';
import { RedisClientPush } from './redis-client-push';
import { RedisPushHistory } from './redis-push-history';

for (const topology of REDIS_TOPOLOGIES) {
  clientPushContract(`Redis sharded push (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    const { keyPrefix } = redis.options;
    const [pub, sub] = [redis.publisher(), redis.shardedSubscriber()];
    const history = new RedisPushHistory(redis, { windowMs: 60_000, maxPerRoom: 10 });
    const push = new RedisClientPush(redis.publisher(), keyPrefix, history);
    return Promise.resolve({
      push,
      history,
      attach: (server) =>
        server.adapter(
          createShardedAdapter(pub, sub, { channelPrefix: socketIoChannel(keyPrefix), subscriptionMode: 'static' }),
        ),
      dispose: async () => {
        await Promise.all([push.close(), pub.quit(), sub.quit(), redis.close()]);
      },
    });
  });
}
