import { newEvent } from '@mesh/bus';
import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { OUTBOX_TEST_SHARDS, outboxContract } from '@mesh/contract-suites';
import { RedisConnection } from '@mesh/redis';
import { OutboxLost, outboxKey } from './outbox.port';
import { RedisOutbox } from './redis-outbox';

for (const topology of REDIS_TOPOLOGIES) {
  outboxContract(`Redis (${topology.name})`, () => {
    const one = isolatedRedis(topology);
    const two = new RedisConnection(one.options);
    const [outbox, peer] = [new RedisOutbox(one, OUTBOX_TEST_SHARDS), new RedisOutbox(two, OUTBOX_TEST_SHARDS)];
    return Promise.resolve({
      outbox,
      peer,
      dispose: async () => {
        await Promise.all([outbox.close(), peer.close()]);
        await Promise.all([one.close(), two.close()]);
      },
    });
  });

  describe(`RedisOutbox after Redis lost its data (${topology.name})`, () => {
    it('is not drained: what it held went unrelayed, so the caller must put it on Kafka itself', async () => {
      const connection = isolatedRedis(topology);
      const [shard] = OUTBOX_TEST_SHARDS;
      const outbox = new RedisOutbox(connection, OUTBOX_TEST_SHARDS);
      try {
        const event = newEvent('order.deadline_reached', { orderId: 'x' }, { source: '/t', key: 'x' });
        await outbox.append(shard, 'orders', event);
        await connection.client.del(outboxKey(shard));
        await expect(outbox.drained(shard, 0)).rejects.toBeInstanceOf(OutboxLost);
      } finally {
        await outbox.close();
        await connection.close();
      }
    });
  });
}
