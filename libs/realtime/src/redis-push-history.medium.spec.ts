import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';
import { RedisPushHistory } from './redis-push-history';

const push = (n: number) => ({ id: `push-${n}`, event: 'offer.revoked' as const, payload: { n } });

for (const topology of REDIS_TOPOLOGIES) {
  describe(`Redis push history on a new server run (${topology.name})`, () => {
    const redis = isolatedRedis(topology);
    const history = new RedisPushHistory(redis, { windowMs: 60_000, maxPerRoom: 100 });
    afterAll(() => redis.close());

    it('resumes whole on the run that gave the offset out, and says it may have missed something on a later run (a restart, a promoted replica)', async () => {
      const room = `courier:${Math.random().toString(36).slice(2)}`;
      const seen = await history.append([room], push(1));
      await history.append([room], push(2));
      await expect(history.since(room, seen)).resolves.toMatchObject({ complete: true, records: [{ id: 'push-2' }] });

      // What a promoted replica holds: the sequence as replicated from a master that is gone.
      await redis.client.hset('{history}:sequence', 'run', 'a-master-that-is-gone');
      const stale = await history.since(room, seen);
      expect(stale?.complete).toBe(false);

      // The new run's offsets are above every offset the old one gave out, and resume whole from there.
      const first = await history.append([room], push(3));
      expect(BigInt(first)).toBeGreaterThan(BigInt(seen) + 1n);
      await history.append([room], push(4));
      await expect(history.since(room, seen)).resolves.toMatchObject({ complete: false });
      await expect(history.since(room, first)).resolves.toMatchObject({ complete: true, records: [{ id: 'push-4' }] });
      expect(await history.position()).toBe(String(BigInt(first) + 1n));
    });
  });
}
