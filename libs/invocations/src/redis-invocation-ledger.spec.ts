import type { RedisConnection } from '@mesh/redis';
import { RedisInvocationLedger } from './redis-invocation-ledger';

/** A connection whose scripts only note how they were called: keys, then one lease per key. */
function scriptedConnection(clustered: boolean) {
  const calls: { script: string; keys: string[] }[] = [];
  const script =
    (name: string, answer: (keys: string[]) => unknown) =>
    (count: number, ...args: unknown[]) => {
      const keys = args.slice(0, count) as string[];
      calls.push({ script: name, keys });
      return Promise.resolve(answer(keys));
    };
  const client = {
    meshClaims: script('claims', (keys) => keys.map(() => 'run')),
    meshCompletions: script('completions', (keys) => keys.length),
  };
  const connection = { clustered, client, defineScript: () => undefined } as unknown as RedisConnection;
  return { connection, calls };
}

const events = Array.from({ length: 40 }, (_, i) => `01EVENT${String(i).padStart(19, '0')}`);
const tagOf = (key: string) => key.slice(0, key.indexOf('}') + 1);

describe('Redis invocation ledger: what a batch costs', () => {
  it('claims and completes the events of one tick in one script call each on one Redis', async () => {
    const { connection, calls } = scriptedConnection(false);
    const ledger = new RedisInvocationLedger(connection);

    const claims = await Promise.all(events.map((id) => ledger.claim('dispatch', id, 4_000)));
    await Promise.all(events.map((id) => ledger.complete('dispatch', id, 60_000)));

    expect(claims).toEqual(events.map(() => 'run'));
    expect(calls.map((c) => [c.script, c.keys.length])).toEqual([
      ['claims', 40],
      ['completions', 40],
    ]);
  });

  it('on a Redis Cluster, one call per hash tag, each with only that tag’s keys', async () => {
    const { connection, calls } = scriptedConnection(true);
    const ledger = new RedisInvocationLedger(connection);

    await Promise.all(events.map((id) => ledger.claim('dispatch', id, 4_000)));

    const tags = calls.map((c) => new Set(c.keys.map(tagOf)));
    expect(tags.every((t) => t.size === 1)).toBe(true);
    expect(new Set(tags.map((t) => [...t][0])).size).toBe(calls.length);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.reduce((n, c) => n + c.keys.length, 0)).toBe(40);
  });
});
