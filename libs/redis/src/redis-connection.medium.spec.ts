import { REDIS_TOPOLOGIES, isolatedRedis } from '@mesh/harness';

type Echo = (key: string, value: string) => Promise<string>;
const scripts = (connection: { client: unknown }) => connection.client as Record<string, Echo>;

/*
 * ioredis is patched (patches/ioredis+6.0.0.patch) to give pipelines the client's script
 * commands through a prototype made once per client rather than copying them onto each
 * pipeline. What the adapters rely on must hold through that: every script of its own client,
 * in every auto-pipeline and explicit pipeline, including scripts defined after the first.
 */
for (const topology of REDIS_TOPOLOGIES) {
  describe(`Redis scripts in pipelines (${topology.name})`, () => {
    it('runs each client’s own scripts, defined before or after its first pipelines, batched in one tick', async () => {
      const [a, b] = [isolatedRedis(topology), isolatedRedis(topology)];
      try {
        a.defineScript('meshEcho', `return 'a:' .. ARGV[1]`, 1);
        b.defineScript('meshEcho', `return 'b:' .. ARGV[1]`, 1);
        const first = await Promise.all([
          scripts(a).meshEcho!('{k}', '1'),
          scripts(b).meshEcho!('{k}', '2'),
          a.client.set('{k}:x', 'v'),
          scripts(a).meshEcho!('{k}', '3'),
        ]);
        expect(first).toEqual(['a:1', 'b:2', 'OK', 'a:3']);

        // Defined once pipelines have been made: the next ones have it too.
        a.defineScript('meshShout', `return string.upper(ARGV[1])`, 1);
        const later = await Promise.all([scripts(a).meshShout!('{k}', 'late'), scripts(a).meshEcho!('{k}', '4')]);
        expect(later).toEqual(['LATE', 'a:4']);
        const pipeline = a.client.pipeline() as unknown as Record<string, (...args: string[]) => unknown> & {
          length: number;
          exec(): Promise<[Error | null, unknown][]>;
        };
        pipeline.meshShout!('{k}', 'x');
        pipeline.meshEcho!('{k}', '5');
        expect(pipeline.length).toBe(2);
        expect(await pipeline.exec()).toEqual([
          [null, 'X'],
          [null, 'a:5'],
        ]);
        expect('meshShout' in b.client.pipeline()).toBe(false);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
