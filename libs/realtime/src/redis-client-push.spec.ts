import { MemoryPushHistory } from './memory-push-history';
import { RedisClientPush } from './redis-client-push';

/** A publisher whose node answers as told: published to `n` subscribers, or gone. */
function publisher(answer: () => Promise<number>) {
  const published: string[] = [];
  return {
    published,
    spublish: (channel: string) => {
      published.push(channel);
      return answer();
    },
    quit: () => Promise.resolve('OK'),
    disconnect: () => undefined,
  };
}

describe('Redis sharded push', () => {
  const history = () => new MemoryPushHistory({ windowMs: 60_000, maxPerRoom: 10 });

  it("is done once Redis took the publish, on the gateways' one channel", async () => {
    const node = publisher(() => Promise.resolve(2));
    const push = new RedisClientPush(node, 'mesh:', history());
    await push.emit(['user:a'], 'order.updated', { id: 'o1' } as never);
    expect(node.published).toEqual(['{mesh:socket.io}#/#']);
  });

  it('fails when the publish fails (its node gone), so the event it was for comes again', async () => {
    const node = publisher(() => Promise.reject(new Error('Connection is closed.')));
    const push = new RedisClientPush(node, 'mesh:', history());
    await expect(push.emit(['user:a'], 'order.updated', { id: 'o1' } as never)).rejects.toThrow(
      'Connection is closed.',
    );
  });
});
