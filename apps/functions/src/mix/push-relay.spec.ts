import { metricValue } from '@mesh/harness';
import { Metrics } from '@mesh/telemetry';
import { connect, type Socket } from 'node:net';
import { FakeRunner, fakeTs, until, type FakeChild } from './mix.fakes';
import { TsSplitter, decodeTime, pidOf } from './mpegts';
import { PushRelay } from './push-relay';

/** What reached the pusher: each packet as its PID, its tag, and a PES start's decode time. */
interface Seen {
  pid: number;
  tag: number;
  dts: number | null;
}

describe('PushRelay: one push for a room, fed by its runs in turn', () => {
  let runner: FakeRunner;
  let relay: PushRelay;
  let seen: Seen[];
  let metrics: Metrics;
  const metric = async (name: string, labels?: Record<string, string>) =>
    metricValue(await metrics.render(), name, labels);
  const sockets: Socket[] = [];

  /** Connects as ffmpeg does to a `unix:` URL, and keeps what comes. */
  const open = (url: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(url.slice('unix:'.length), () => resolve(socket));
      socket.once('error', reject);
      sockets.push(socket);
    });

  beforeEach(async () => {
    metrics = new Metrics();
    runner = new FakeRunner();
    seen = [];
    relay = await PushRelay.open({
      fps: 30,
      retries: 2,
      target: 'rtmp://ingest.example.com/live/key',
      args: (input) => ['-i', input, '-f', 'flv', 'rtmp://ingest.example.com/live/key'],
      start: (args) => Promise.resolve(runner.start('ffmpeg', args)),
      changed: () => undefined,
      metrics,
    });
    // The pusher reads from the relay: here the test does.
    await readAsPusher(runner.run(1));
  });
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await relay.close();
  });

  /** Connects to the relay as the pusher `child` would, and keeps what it is sent in `seen`. */
  const readAsPusher = async (child: FakeChild) => {
    const socket = await open(child.args[1]!);
    const splitter = new TsSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const p of splitter.push(chunk)) seen.push({ pid: pidOf(p), tag: p.at(-1)!, dts: decodeTime(p) });
    });
  };
  /** A run's feed, connected as its ffmpeg's tee does, and a way to write packets to it. */
  const run = async (name: string) => {
    const socket = await open(await relay.feed(name));
    return (...packets: Buffer[]) => void socket.write(Buffer.concat(packets));
  };
  const tags = () => seen.map((s) => s.tag);

  it('forwards the run on air from its first keyframe, its tables first, and not the rest of a PES begun before', async () => {
    const a = await run('a');
    void relay.onAir('a', 5_000);
    // Before the keyframe: a frame and the end of an audio PES, which a decoder could not start from.
    a(fakeTs.pat(), fakeTs.pmt(), fakeTs.video(0, { tag: 1 }), fakeTs.rest(fakeTs.AUDIO, 2));
    a(fakeTs.video(3_000, { keyframe: true, tag: 3 }), fakeTs.rest(fakeTs.AUDIO, 4), fakeTs.audio(3_000, 5));
    a(fakeTs.rest(fakeTs.VIDEO, 6), fakeTs.video(6_000, { tag: 7 }));
    await until(() => tags().includes(7), 'the run forwarded');
    expect(seen.map((s) => s.pid)).toEqual([0, fakeTs.PMT_PID, fakeTs.VIDEO, fakeTs.AUDIO, fakeTs.VIDEO, fakeTs.VIDEO]);
    expect(tags().slice(2)).toEqual([3, 5, 6, 7]);
    // Its first run's clock, as it was.
    expect(seen.filter((s) => s.pid === fakeTs.VIDEO && s.dts !== null).map((s) => s.dts)).toEqual([3_000, 6_000]);
  });

  it('goes on to the next run at its next keyframe, the one before forwarded until then, time running on', async () => {
    const a = await run('a');
    void relay.onAir('a', 5_000);
    a(fakeTs.pat(), fakeTs.pmt(), fakeTs.video(900_000, { keyframe: true, tag: 1 }), fakeTs.audio(900_000, 2));
    await until(() => tags().includes(2), 'the first run forwarded');

    // A run beside, its own clock starting near 0: on air once its next keyframe comes, the run
    // before forwarded until then, and none of its frames before.
    const b = await run('b');
    const switched = relay.onAir('b', 5_000);
    b(fakeTs.pat(), fakeTs.pmt(), fakeTs.video(3_000, { tag: 21 }));
    a(fakeTs.video(903_000, { tag: 3 }));
    b(fakeTs.video(6_000, { tag: 22 }), fakeTs.rest(fakeTs.AUDIO, 23));
    await until(() => tags().includes(3), 'the run before, still on air');
    b(fakeTs.video(9_000, { keyframe: true, tag: 24 }), fakeTs.audio(9_000, 25), fakeTs.video(12_000, { tag: 26 }));
    await expect(switched).resolves.toBe(true);
    // A handover: how long the push waited for the new run's keyframe is measured.
    expect(await metric('mesh_mix_push_switch_seconds_count')).toBe(1);
    // The run before is not forwarded any more.
    a(fakeTs.video(906_000, { tag: 4 }));
    b(fakeTs.video(15_000, { tag: 27 }));
    await until(() => tags().includes(27), 'the new run forwarded');

    expect(tags()).not.toContain(4);
    expect(tags().filter((t) => t >= 20)).toEqual([24, 25, 26, 27]);
    // The new run's tables came before its keyframe.
    const at = seen.findIndex((s) => s.tag === 24);
    expect(seen.slice(at - 2, at).map((s) => s.pid)).toEqual([0, fakeTs.PMT_PID]);
    // Time goes on from the last frame of the run before: a frame later at least, never back.
    const video = seen.filter((s) => s.pid === fakeTs.VIDEO && s.dts !== null).map((s) => s.dts!);
    const [last, next] = [video[video.indexOf(903_000)]!, video[video.indexOf(903_000) + 1]!];
    expect(next - last).toBeGreaterThanOrEqual(3_000);
    expect(next - last).toBeLessThan(3_000 + 90_000);
    expect(video.at(-1)! - next).toBe(6_000);

    // Asked again for the run it forwards (the HLS went on to it too): so it is, nothing cut.
    await expect(relay.onAir('b', 1_000)).resolves.toBe(true);
    b(fakeTs.video(18_000, { tag: 28 }));
    await until(() => tags().includes(28), 'still forwarded, no keyframe needed');
  });

  it('starts a new pusher at the on-air run’s next keyframe, and stops its pusher and feeds when closed', async () => {
    const a = await run('a');
    void relay.onAir('a', 5_000);
    a(fakeTs.pat(), fakeTs.pmt(), fakeTs.video(0, { keyframe: true, tag: 1 }));
    await until(() => tags().includes(1), 'forwarded');
    // The ingest dropped the push: a new pusher, a second later.
    runner.run(1).crash('Broken pipe');
    await until(() => runner.runs.length === 2, 'a new pusher');
    seen = [];
    await readAsPusher(runner.run(2));
    await new Promise((resolve) => setImmediate(resolve));
    a(fakeTs.video(3_000, { tag: 2 }), fakeTs.video(6_000, { keyframe: true, tag: 3 }));
    await until(() => tags().includes(3), 'forwarded to the new pusher');
    expect(tags()).toEqual([0, 0, 3]);

    expect(await metric('mesh_mix_push_drops_total')).toBe(1);
    expect(await metric('mesh_mix_pushes', { state: 'retrying' })).toBe(1);
    const pusher: FakeChild = runner.run(2);
    await relay.close();
    expect(await metric('mesh_mix_pushes', { state: 'retrying' })).toBe(0);
    expect(await metric('mesh_mix_pushes', { state: 'connecting' })).toBe(0);
    expect(pusher.signals).toEqual(['SIGTERM']);
    await expect(relay.feed('late')).rejects.toThrow();
  });
});
