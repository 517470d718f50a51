import type { StreamView } from '@mesh/contracts';
import {
  colourAt,
  decodeFrame,
  discontinuitiesAfter,
  eventually,
  freePort,
  listedSegments,
  mixProcesses,
  parentPid,
  playlistSegments,
  startProcess,
  startStack,
  waitForHttp,
  type RunningProcess,
  type RunningStack,
} from '@mesh/harness';
import { LiveRooms, mixEnv, type Person } from './support/live-room';

/**
 * Live rooms over two mix replicas: the stack's functions process and a second one that
 * runs only the mix. Each room is mixed by the replica owning its key's partition of the
 * streams topic; when that replica is SIGKILLed, the other takes its partitions and puts
 * its rooms back on air, appending to the same playlists.
 */
describe('live rooms over two mix replicas (real Kafka, Redis and ffmpeg)', () => {
  let stack: RunningStack;
  let second: RunningProcess;
  let rooms: LiveRooms;
  /** Two hosts of two rooms each (MIX_MAX_ROOMS_PER_HOST is 2). */
  let hosts: Person[];

  beforeAll(async () => {
    stack = await startStack(mixEnv());
    const port = await freePort();
    second = startProcess('functions-mix', 'apps/functions/src/main.js', {
      ...stack.env,
      FUNCTIONS: 'mix',
      FUNCTIONS_PORT: String(port),
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, second);
    rooms = new LiveRooms(stack);
    hosts = [await rooms.person('host', ['host']), await rooms.person('host', ['host'])];
  });
  afterAll(async () => {
    rooms?.close();
    await second?.stop('SIGKILL');
    await stack?.stop();
  });

  const playlistOf = (view: StreamView) => new URL(view.output.hlsUrl!, stack.baseUrl).href;
  /** Segments are named r<revision>-<run>-<n>. */
  const runOf = (name: string) => name.split('-').slice(0, 2).join('-');
  /** The replica (its pid) whose ffmpeg mixes the stream; throws unless exactly one does. */
  const mixerOf = (streamId: string): number => {
    const pids = mixProcesses(streamId);
    if (pids.length !== 1) throw new Error(`${pids.length} ffmpeg processes mix ${streamId}`);
    return parentPid(pids[0]!) ?? 0;
  };

  it('mixes each room once, and a killed replica’s rooms are live again on the other, their playlists going on', async () => {
    const colours = ['white', 'red', 'green', 'blue'] as const;
    const hostOf = (i: number) => hosts[i % 2]!;
    const lives = await Promise.all(
      colours.map(async (colour, i) =>
        rooms.goLive(hostOf(i), (await rooms.stream(hostOf(i), [`test:color=${colour}`])).id),
      ),
    );
    const replicas = [stack.functions.child.pid!, second.child.pid!];
    const owners = await eventually(() => lives.map((live) => mixerOf(live.id)), { timeoutMs: 15_000 });
    expect(owners.every((pid) => replicas.includes(pid))).toBe(true);

    // The replica mixing the first room dies with its ffmpeg; its rooms are the ones to come back.
    const victim = owners[0]!;
    const survivor = replicas.find((pid) => pid !== victim)!;
    const orphans = lives.filter((_, i) => owners[i] === victim);
    const before = await Promise.all(
      orphans.map(async (live) => {
        const seen = await listedSegments(playlistOf(live));
        return { live, seen, killedRuns: new Set(seen.map(runOf)) };
      }),
    );
    const killedAt = Date.now();
    await (victim === second.child.pid ? second : stack.functions).stop('SIGKILL');

    const back = await Promise.all(
      before.map(({ live, seen, killedRuns }) =>
        eventually(
          async () => {
            const playlist = await (await fetch(playlistOf(live))).text();
            const name = playlistSegments(playlist).find((n) => n.startsWith('r') && !killedRuns.has(runOf(n)));
            if (!name) throw new Error(`no segment of ${live.id} from a new run yet`);
            const segment = Buffer.from(await (await fetch(new URL(name, playlistOf(live)))).arrayBuffer());
            return { live, seen, playlist, segment, afterMs: Date.now() - killedAt };
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        ),
      ),
    );
    process.stdout.write(
      `mix failover: ${back.map((b) => `${b.live.id} on air again ${(b.afterMs / 1000).toFixed(1)} s after the kill`).join('; ')}\n`,
    );
    for (const { live, seen, playlist, segment } of back) {
      // Mixed by the survivor now, the same picture, its playlist going on where it was.
      expect(mixerOf(live.id)).toBe(survivor);
      expect(colourAt(await decodeFrame(segment), 0.5, 0.5)).toBe(colours[lives.indexOf(live)]);
      expect(seen.some((name) => playlistSegments(playlist).includes(name))).toBe(true);
      expect(discontinuitiesAfter(playlist, seen)).toBeLessThanOrEqual(1);
      expect(playlist).not.toContain('#EXT-X-ENDLIST');
      // Told live once the new run's first segment is seen (polled), a moment after it is listed.
      await eventually(async () =>
        expect((await hostOf(lives.indexOf(live)).client.streams.get(live.id)).status).toBe('live'),
      );
    }
    // The rooms that were the survivor's were never touched.
    for (const [i, live] of lives.entries()) if (owners[i] === survivor) expect(mixerOf(live.id)).toBe(survivor);
  });
});
