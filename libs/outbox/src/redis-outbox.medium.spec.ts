import { RedisConnection } from '@mesh/redis';
import { outboxContract, uniqueName } from '@mesh/testing';
import { newEvent } from '@mesh/bus';
import { OUTBOX_KEY, OutboxLost } from './outbox.port';
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

describe('RedisOutbox after Redis lost its data', () => {
  it('is not drained: what it held went unrelayed, so the caller must put it on Kafka itself', async () => {
    const connection = new RedisConnection({
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      keyPrefix: `${uniqueName('t')}:`,
    });
    const outbox = new RedisOutbox(connection);
    try {
      await outbox.append('orders', newEvent('order.deadline_reached', { orderId: 'x' }, { source: '/t', key: 'x' }));
      await connection.client.del(OUTBOX_KEY);
      await expect(outbox.drained(0)).rejects.toBeInstanceOf(OutboxLost);
    } finally {
      await outbox.close();
      await connection.close();
    }
  });
});
