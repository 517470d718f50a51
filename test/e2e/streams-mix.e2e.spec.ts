import type { StreamView } from '@mesh/contracts';
import { MIX_FAILED, TEST_COLORS } from '@mesh/streams';
import {
  colourAt,
  decodeFrame,
  decodeFrames,
  discontinuitiesAfter,
  fetchSegmentAfter,
  fetchSegment,
  freePort,
  listedSegments,
  eventually,
  metricValue,
  mixProcesses,
  playlistEntries,
  playlistSegments,
  runFfmpeg,
  startStack,
  timelineJumpBefore,
  toneLevelDb,
  videoDecodeTimes,
  videoSize,
  type RunningStack,
} from '@mesh/harness';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { LiveRooms, mixEnv, noMixProcesses, type Person } from './support/live-room';

/** A tone counts as heard above this level and as gone below the other (dBFS after the band-pass). */
const HEARD_DB = -40;
const GONE_DB = -70;

/**
 * Live rooms mixed by the real ffmpeg: requests go through the gateway and
 * Kafka to the mix function, and what it makes is read back the way a player
 * does, from the gateway's HLS, then decoded and measured.
 */
describe('stream mixing (real Kafka, Redis and ffmpeg)', () => {
  let stack: RunningStack;
  let rooms: LiveRooms;
  let host: Person;

  beforeAll(async () => {
    // Ended streams' HLS goes 2 s after they end here (5 min by default).
    stack = await startStack({ ...mixEnv(), MIX_HLS_RETAIN_S: '2' });
    rooms = new LiveRooms(stack);
    host = await rooms.person('host', ['host']);
  });
  afterAll(async () => {
    rooms?.close();
    await stack?.stop();
  });

  /** The stream's signed playback URL (API.md "Playback"), as its host's view carries it. */
  function playlistOf(view: StreamView): string {
    if (!view.output.hlsUrl) throw new Error(`stream ${view.id} has no playback URL yet`);
    return new URL(view.output.hlsUrl, stack.baseUrl).href;
  }

  /** The first picture and sound of the mix at `revision`, as served by the gateway. */
  async function mixAt(view: StreamView) {
    const { bytes } = await fetchSegment(playlistOf(view), `r${view.revision}-`);
    return { frame: await decodeFrame(bytes), bytes };
  }

  /** Changes the running mix functions took without restarting it, so far. */
  async function liveChanges(): Promise<number> {
    const page = await (await fetch(`${stack.functionsUrl}/metrics`)).text();
    return metricValue(page, 'mesh_mix_switch_seconds_count', { how: 'live' });
  }

  /**
   * Makes a change and, once the running mix took it (no restart), what a player gets
   * next: a segment made wholly after it, and the discontinuities the playlist has
   * after what was listed then.
   */
  async function changeLive(make: () => Promise<StreamView>) {
    const before = await liveChanges();
    const view = await make();
    await eventually(async () => expect(await liveChanges()).toBeGreaterThan(before), { timeoutMs: 15_000 });
    const seen = await listedSegments(playlistOf(view));
    const { bytes, playlist } = await fetchSegmentAfter(playlistOf(view), seen);
    return { view, frame: await decodeFrame(bytes), bytes, discontinuities: discontinuitiesAfter(playlist, seen) };
  }

  /**
   * A co-host's camera on an allowed host: an HLS input of one solid colour with its tone, whose
   * playlist is answered only `delayMs` after it is asked for.
   */
  async function slowCamera(colour: 'green' | 'blue', delayMs: number) {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-camera-'));
    const made = await runFfmpeg(
      ['-v', 'error', '-f', 'lavfi', '-i', `color=c=${colour}:s=320x180:r=15`, '-f', 'lavfi', '-i']
        .concat([`sine=frequency=${TEST_COLORS[colour].toneHz}:sample_rate=48000`, '-t', '30'])
        .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-f', 'mpegts'])
        .concat([join(dir, 'camera.ts')]),
    );
    expect(made.code).toBe(0);
    const server = createServer((req, res) => {
      if (req.url === '/camera.m3u8') {
        const list = '#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30,\ncamera.ts\n#EXT-X-ENDLIST\n';
        setTimeout(() => res.end(list), delayMs);
      } else if (req.url === '/camera.ts') {
        void readFile(join(dir, 'camera.ts')).then((bytes) => res.end(bytes));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/camera.m3u8`,
      close: () => new Promise<void>((ok) => server.close(() => ok())),
    };
  }

  async function stopped(view: StreamView): Promise<void> {
    await host.client.streams.stop(view.id);
    await noMixProcesses(view.id);
  }

  it('mixes four solid colours into a grid, each in its own quadrant, with all four tones', async () => {
    const created = await rooms.stream(
      host,
      ['red', 'green', 'blue', 'yellow'].map((c) => `test:color=${c}`),
    );
    const live = await rooms.goLive(host, created.id);
    expect(live).toMatchObject({ status: 'live', layout: 'grid' });
    expect(live.output.hlsUrl).toMatch(new RegExp(`^/live/${created.id}/[^/]+/index\\.m3u8$`));

    const { frame, bytes } = await mixAt(live);
    expect(colourAt(frame, 0.25, 0.25)).toBe('red');
    expect(colourAt(frame, 0.75, 0.25)).toBe('green');
    expect(colourAt(frame, 0.25, 0.75)).toBe('blue');
    expect(colourAt(frame, 0.75, 0.75)).toBe('yellow');
    for (const colour of ['red', 'green', 'blue', 'yellow'] as const) {
      expect(await toneLevelDb(bytes, TEST_COLORS[colour].toneHz)).toBeGreaterThan(HEARD_DB);
    }
    await stopped(live);
  });

  it('switches to the speaker layout in the running mix: the focus large, the others in the strip, no gap', async () => {
    const created = await rooms.stream(
      host,
      ['red', 'green', 'blue', 'yellow'].map((c) => `test:color=${c}`),
    );
    await rooms.goLive(host, created.id);
    const blue = created.participants[2]?.userId;

    const {
      view: switched,
      frame,
      discontinuities,
    } = await changeLive(() => host.client.streams.setLayout(created.id, { layout: 'speaker', focus: blue }));
    expect(switched).toMatchObject({ layout: 'speaker', focus: blue });
    expect(colourAt(frame, 0.5, 0.35)).toBe('blue');
    // The strip below, in participant order without the focus: red, green, yellow.
    expect([0.125, 0.375, 0.625].map((x) => colourAt(frame, x, 0.9))).toEqual(['red', 'green', 'yellow']);
    // The same ffmpeg went on: a player carries on without re-buffering.
    expect(discontinuities).toBe(0);

    // And pip with another focus: the inset drawn over the full-frame focus, whatever their order.
    const inset = await changeLive(() =>
      host.client.streams.setLayout(created.id, { layout: 'pip', focus: created.participants[3]?.userId }),
    );
    expect(colourAt(inset.frame, 0.25, 0.25)).toBe('yellow');
    expect(colourAt(inset.frame, 0.86, 0.86)).toBe('red');
    expect(inset.discontinuities).toBe(0);
    await stopped(created);
  });

  it('muting an input and turning another down change the running mix’s sound, with no gap', async () => {
    const created = await rooms.stream(host, ['test:color=red', 'test:color=blue']);
    const live = await rooms.goLive(host, created.id);
    const before = await mixAt(live);
    const red = created.participants[0]!;

    const { bytes, frame, discontinuities } = await changeLive(() =>
      host.client.streams.setParticipant(created.id, red.userId, { inputUrl: red.inputUrl, muted: true }),
    );
    expect(await toneLevelDb(bytes, TEST_COLORS.red.toneHz)).toBeLessThan(GONE_DB);
    expect(await toneLevelDb(bytes, TEST_COLORS.blue.toneHz)).toBeGreaterThan(HEARD_DB);
    // Muted is not hidden.
    expect(colourAt(frame, 0.25, 0.5)).toBe('red');
    expect(discontinuities).toBe(0);

    // Blue at half volume: 6 dB down from where it was.
    const blue = created.participants[1]!;
    const after = await changeLive(() =>
      host.client.streams.setParticipant(created.id, blue.userId, { inputUrl: blue.inputUrl, volume: 0.5 }),
    );
    const drop =
      (await toneLevelDb(before.bytes, TEST_COLORS.blue.toneHz)) -
      (await toneLevelDb(after.bytes, TEST_COLORS.blue.toneHz));
    expect(drop).toBeGreaterThan(4);
    expect(drop).toBeLessThan(8);
    expect(after.discontinuities).toBe(0);
    await stopped(created);
  });

  it('puts a co-host who joins, then leaves, on air with no gap: the timeline runs on, the picture never goes black', async () => {
    const created = await rooms.stream(host, ['test:color=red']);
    const live = await rooms.goLive(host, created.id);
    expect(colourAt((await mixAt(live)).frame, 0.5, 0.5)).toBe('red');

    /** The first segment of the revision's run, as a player gets it, and the jump in the timeline just before it. */
    const change = async (view: StreamView) => {
      const { name, bytes } = await fetchSegment(playlistOf(view), `r${view.revision}-`);
      const playlist = await (await fetch(playlistOf(view))).text();
      const frames = await decodeFrames(bytes);
      return { frames, frame: frames.at(-1)!, bytes, playlist, jumpS: timelineJumpBefore(playlist, name) };
    };

    // The co-host's camera, as a remote one is: it takes two seconds to answer. A mix restarted for the
    // join would be off air all that time; the new run is made beside the one on air instead.
    const camera = await slowCamera('green', 2_000);
    const joined = await host.client.streams
      .setParticipant(created.id, 'co-host', { inputUrl: camera.url })
      .catch(async (err: unknown) => {
        await camera.close();
        throw err;
      });
    expect(joined.revision).toBeGreaterThan(live.revision);
    const join = await change(joined).finally(() => camera.close());
    // From the new run's very first segment: both, side by side, and the co-host heard. The camera's
    // picture may come a frame after its sound starts (its encoder's audio priming), not later.
    expect(join.frames.map((f) => colourAt(f, 0.25, 0.5))).toEqual(join.frames.map(() => 'red'));
    expect(join.frames.slice(1).map((f) => colourAt(f, 0.75, 0.5))).toEqual(join.frames.slice(1).map(() => 'green'));
    expect(await toneLevelDb(join.bytes, TEST_COLORS.green.toneHz)).toBeGreaterThan(HEARD_DB);
    // The new run was made beside the old one and the playlist went on to it where the old one was:
    // at most half a segment (MIX_SEGMENT_S is 1) skipped or repeated; a restart would skip the camera's 2 s.
    expect(Math.abs(join.jumpS)).toBeLessThanOrEqual(0.55);
    // One discontinuity (another encoder), no end: players carry on.
    expect(join.playlist.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(join.playlist).not.toContain('#EXT-X-ENDLIST');

    const left = await host.client.streams.removeParticipant(created.id, 'co-host');
    const leave = await change(left);
    expect(leave.frames.flatMap((f) => [colourAt(f, 0.25, 0.5), colourAt(f, 0.75, 0.5)])).toEqual(
      leave.frames.flatMap(() => ['red', 'red']),
    );
    expect(await toneLevelDb(leave.bytes, TEST_COLORS.green.toneHz)).toBeLessThan(GONE_DB);
    expect(Math.abs(leave.jumpS)).toBeLessThanOrEqual(0.55);
    // Each change's run stopped once the next took over: one ffmpeg mixes the room.
    await eventually(() => expect(mixProcesses(created.id)).toHaveLength(1));
    await stopped(created);
  });

  it('pushes the mix to an RTMP ingest, says the push’s state, and pushes again when the ingest drops it and comes back', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mesh-rtmp-'));
    /** ffmpeg itself as the CDN's ingest: listens, takes three seconds of what is pushed, keeps it, and goes. */
    const ingest = (file: string) =>
      runFfmpeg(
        ['-v', 'error', '-listen', '1', '-timeout', '60', '-i', `rtmp://127.0.0.1:${port}/live/secret-key`].concat([
          '-t',
          '3',
          '-c',
          'copy',
          '-f',
          'flv',
          join(dir, file),
        ]),
      );
    const first = ingest('first.flv');
    const created = await rooms.stream(host, ['test:color=magenta'], {
      rtmpUrl: `rtmp://127.0.0.1:${port}/live/secret-key`,
    });
    const live = await rooms.goLive(host, created.id);
    const pushOf = async () => (await host.client.streams.get(created.id)).output.push;
    // Connected once the pusher wrote to the ingest.
    await eventually(async () => expect(await pushOf()).toEqual({ state: 'connected', error: null }));

    expect(await first).toMatchObject({ code: 0, stderr: '' });
    expect(colourAt(await decodeFrame(await readFile(join(dir, 'first.flv'))), 0.5, 0.5)).toBe('magenta');
    // The ingest went away: the host is told why, and the push is tried again.
    const dropped = await eventually(async () => {
      const push = await pushOf();
      expect(push?.state).toBe('retrying');
      return push!;
    });
    expect(dropped.error).toEqual(expect.any(String));
    expect(dropped.error).not.toContain('secret-key');

    // It is back: the push goes on to it by itself, and the HLS never stopped.
    const second = ingest('second.flv');
    await eventually(async () => expect(await pushOf()).toEqual({ state: 'connected', error: null }), {
      timeoutMs: 30_000,
    });
    expect(await second).toMatchObject({ code: 0, stderr: '' });
    expect(colourAt(await decodeFrame(await readFile(join(dir, 'second.flv'))), 0.5, 0.5)).toBe('magenta');
    const playlist = await (await fetch(playlistOf(live))).text();
    expect(playlist).not.toContain('#EXT-X-ENDLIST');
    expect((await host.client.streams.get(created.id)).status).toBe('live');
    await stopped(live);
  });

  it('keeps a pushing room’s ingest on one connection while a co-host joins: both pictures come, its clock runs on, the HLS skips nothing', async () => {
    const port = await freePort();
    const url = `rtmp://127.0.0.1:${port}/live/secret-key`;
    const file = join(mkdtempSync(join(tmpdir(), 'mesh-rtmp-')), 'pushed.flv');
    // The CDN's ingest: takes 10 s of one publisher. A publisher that left and came back would end it sooner.
    const ingest = runFfmpeg(
      ['-v', 'error', '-listen', '1', '-timeout', '60', '-i', url, '-t', '10'].concat([
        '-c',
        'copy',
        '-f',
        'flv',
        file,
      ]),
    );
    const created = await rooms.stream(host, ['test:color=red'], { rtmpUrl: url });
    await rooms.goLive(host, created.id);
    const pushOf = async () => (await host.client.streams.get(created.id)).output.push;
    await eventually(async () => expect(await pushOf()).toEqual({ state: 'connected', error: null }));

    const joined = await host.client.streams.setParticipant(created.id, 'co-host', { inputUrl: 'test:color=green' });
    // The HLS went on to the new run beside the old one, as in a room without a push.
    const { name } = await fetchSegment(playlistOf(joined), `r${joined.revision}-`);
    const playlist = await (await fetch(playlistOf(joined))).text();
    expect(Math.abs(timelineJumpBefore(playlist, name))).toBeLessThanOrEqual(0.55);
    expect(playlist.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);

    expect(await ingest).toMatchObject({ code: 0, stderr: '' });
    const pushed = await readFile(file);
    // One publisher gave the ingest its 10 s: time never went back nor jumped across the runs.
    const times = await videoDecodeTimes(pushed);
    expect(times.at(-1)).toBeGreaterThan(9.5);
    const steps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...steps)).toBeGreaterThan(0);
    expect(Math.max(...steps)).toBeLessThan(0.5);
    // The host alone, then host and co-host side by side; never a black frame.
    const frames = await decodeFrames(pushed);
    expect(colourAt(frames[0]!, 0.75, 0.5)).toBe('red');
    expect([colourAt(frames.at(-1)!, 0.25, 0.5), colourAt(frames.at(-1)!, 0.75, 0.5)]).toEqual(['red', 'green']);
    expect(frames.filter((f) => colourAt(f, 0.25, 0.5) !== 'red')).toHaveLength(0);
    expect(await pushOf()).toMatchObject({ state: expect.stringMatching(/^(connected|retrying)$/) });
    // One ffmpeg mixes the room once the run before stopped (the pusher is not a mix).
    await eventually(() => expect(mixProcesses(created.id)).toHaveLength(1));
    await stopped(created);
  });

  it('serves an adaptive ladder when asked: a master playlist of two renditions, each its own size, cut alike', async () => {
    const created = await host.client.streams.create({ title: 'ladder', output: { ladder: true } });
    await host.client.streams.setParticipant(created.id, 'cam', { inputUrl: 'test:color=green' });
    const live = await rooms.goLive(host, created.id);
    expect(live.output.ladder).toBe(true);
    const master = await (await fetch(playlistOf(live))).text();
    // The canvas (320x180 here) and half of it, with their peak bandwidths, for players to pick from.
    expect(master).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=320x180\n180p\.m3u8/);
    expect(master).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=160x90\n90p\.m3u8/);
    const renditions = await Promise.all(
      [
        ['180p', 320, 180],
        ['90p', 160, 90],
      ].map(async ([name, width, height]) => {
        const url = new URL(`${name}.m3u8`, playlistOf(live)).href;
        const { name: segment, bytes } = await fetchSegment(url, `r${live.revision}-`, { skip: 1 });
        expect(segment).toMatch(new RegExp(`^r${live.revision}-\\d+-${name}-\\d+\\.ts$`));
        expect(await videoSize(bytes)).toEqual({ width, height });
        expect(colourAt(await decodeFrame(bytes), 0.5, 0.5)).toBe('green');
        const entries = playlistEntries(await (await fetch(url)).text());
        return new Map(entries.map((e) => [e.name.replace(`-${name}-`, '-'), e.duration]));
      }),
    );
    // Cut on the same keyframes: a segment of one rendition is as long as the same segment of the other.
    const [big, small] = renditions as [Map<string, number>, Map<string, number>];
    const common = [...big.keys()].filter((n) => small.has(n));
    expect(common.length).toBeGreaterThanOrEqual(2);
    for (const n of common) expect(Math.abs(big.get(n)! - small.get(n)!)).toBeLessThan(0.01);
    await stopped(live);
  });

  it('an unreachable input makes the stream restart, then fail with the reason, over the socket', async () => {
    const closedPort = await freePort();
    const viewer = await rooms.person('dispatcher', ['dispatcher']);
    const created = await rooms.stream(host, [`rtmp://127.0.0.1:${closedPort}/live/cam`]);
    await viewer.live.watchStream(created.id);

    await host.client.streams.start(created.id);
    const restarting = await rooms.statusReaches(host, created.id, 'restarting');
    expect(restarting.error).toMatch(/input of guest-0/);
    const failed = await rooms.statusReaches(viewer, created.id, 'failed');
    expect((await rooms.statusReaches(host, created.id, 'failed')).error).toMatch(
      /input of guest-0 failed: .*refused/i,
    );
    // ffmpeg's own words (addresses, hosts) are the host's only.
    expect(failed.error).toBe(MIX_FAILED);
    // Whoever is not the host never sees the input's path (stream keys live there).
    expect(failed.participants[0]?.inputUrl).toBe(`rtmp://127.0.0.1:${closedPort}/…`);
    expect(JSON.stringify(failed)).not.toContain('/live/cam');
    expect(mixProcesses(created.id)).toEqual([]);
  });

  it('mixes a co-host whose input has no audio (a screen share): its picture in its tile, the others’ sound', async () => {
    // A picture-only HLS input, served from an allowed host.
    const dir = mkdtempSync(join(tmpdir(), 'mesh-screen-'));
    const made = await runFfmpeg([
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=blue:s=320x180:r=10',
      '-t',
      '20',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '10',
      '-f',
      'mpegts',
      join(dir, 'screen.ts'),
    ]);
    expect(made.code).toBe(0);
    const screen = createServer((req, res) => {
      if (req.url === '/screen.m3u8') {
        res.end('#EXTM3U\n#EXT-X-TARGETDURATION:20\n#EXTINF:20,\nscreen.ts\n#EXT-X-ENDLIST\n');
      } else if (req.url === '/screen.ts') {
        void readFile(join(dir, 'screen.ts')).then((bytes) => res.end(bytes));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => screen.listen(0, '127.0.0.1', ok));
    try {
      const port = (screen.address() as AddressInfo).port;
      const created = await rooms.stream(host, ['test:color=red', `http://127.0.0.1:${port}/screen.m3u8`]);
      const live = await rooms.goLive(host, created.id);
      expect(live.error).toBeNull();

      const { frame, bytes } = await mixAt(live);
      expect(colourAt(frame, 0.25, 0.5)).toBe('red');
      expect(colourAt(frame, 0.75, 0.5)).toBe('blue');
      expect(await toneLevelDb(bytes, TEST_COLORS.red.toneHz)).toBeGreaterThan(HEARD_DB);
      await stopped(live);
    } finally {
      await new Promise((ok) => screen.close(ok));
    }
  });

  it('an HTTP input leads ffmpeg to no host but the allowed ones: a redirect and a playlist entry elsewhere are refused', async () => {
    // "localhost" is not in MIX_INPUT_HOSTS (127.0.0.1 is), though it is the same machine: as an internal address would be.
    const elsewhere: string[] = [];
    const other = createServer((req, res) => {
      elsewhere.push(req.url ?? '');
      res.end();
    });
    const served: string[] = [];
    const media = createServer((req, res) => {
      served.push(req.url ?? '');
      const otherUrl = `http://localhost:${(other.address() as AddressInfo).port}`;
      if (req.url === '/list.m3u8') {
        res.end(
          ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXTINF:2,', '/redirect.ts', '#EXTINF:2,', `${otherUrl}/metadata.ts`]
            .concat(['#EXT-X-ENDLIST', ''])
            .join('\n'),
        );
      } else if (req.url === '/redirect.ts') {
        res.writeHead(302, { location: `${otherUrl}/redirected.ts` }).end();
      } else {
        res.writeHead(404).end();
      }
    });
    await Promise.all([other, media].map((server) => new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))));
    const refusals = () => stack.functions.output.join('').split('refused ffmpeg a connection').length - 1;
    const refusedBefore = refusals();
    try {
      const port = (media.address() as AddressInfo).port;
      const created = await rooms.stream(host, [`http://127.0.0.1:${port}/list.m3u8`]);
      await host.client.streams.start(created.id);
      // ffmpeg read the playlist and followed its first entry, through the egress proxy…
      await eventually(() => expect(served).toEqual(expect.arrayContaining(['/list.m3u8', '/redirect.ts'])), {
        timeoutMs: 20_000,
      });
      // …which refused it both ways out to the other host: the redirect and the second entry.
      await eventually(() => expect(refusals() - refusedBefore).toBeGreaterThanOrEqual(2), { timeoutMs: 20_000 });
      expect(elsewhere).toEqual([]);
      await host.client.streams.stop(created.id);
      await noMixProcesses(created.id);
    } finally {
      await Promise.all([other, media].map((server) => new Promise((ok) => server.close(ok))));
    }
  });

  it('stop ends the stream’s ffmpeg, the host is told, players are told the playlist ended, and its HLS goes later', async () => {
    const created = await rooms.stream(host, ['test:pattern']);
    const playlistUrl = playlistOf(await rooms.goLive(host, created.id));
    expect(mixProcesses(created.id)).toHaveLength(1);
    expect(await (await fetch(playlistUrl)).text()).not.toContain('#EXT-X-ENDLIST');

    expect(await host.client.streams.stop(created.id)).toMatchObject({ status: 'stopped' });
    await noMixProcesses(created.id);
    expect((await host.client.streams.get(created.id)).status).toBe('stopped');
    // Players stop at the last segment rather than polling a live playlist that will never grow.
    await eventually(async () =>
      expect((await (await fetch(playlistUrl)).text()).trimEnd()).toMatch(/#EXT-X-ENDLIST$/),
    );
    // Once the retention is over, the stream's HLS is deleted.
    await eventually(async () => expect((await fetch(playlistUrl)).status).toBe(404), { timeoutMs: 15_000 });
  });

  it('a killed functions process leaves no ffmpeg behind, and its successor puts the stream back on air', async () => {
    const created = await rooms.stream(host, ['test:color=white']);
    const live = await rooms.goLive(host, created.id);
    const [pid] = mixProcesses(created.id);
    expect(pid).toBeDefined();
    // Segments are named r<revision>-<run>-<n>: the run before the kill.
    const runOf = (name: string) => name.split('-').slice(0, 2).join('-');
    const killedRun = runOf((await fetchSegment(playlistOf(live), `r${live.revision}-`)).name);

    await stack.restartFunctions('SIGKILL', () => noMixProcesses(created.id));

    await eventually(() => expect(mixProcesses(created.id)).toHaveLength(1), { timeoutMs: 20_000 });
    const resumed = await eventually(
      async () => {
        const playlist = await (await fetch(playlistOf(live))).text();
        const name = playlistSegments(playlist).find(
          (n) => n.startsWith(`r${live.revision}-`) && runOf(n) !== killedRun,
        );
        if (!name) throw new Error('no segment of a new run yet');
        return Buffer.from(await (await fetch(new URL(name, playlistOf(live)))).arrayBuffer());
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(colourAt(await decodeFrame(resumed), 0.5, 0.5)).toBe('white');
    await stopped(live);
  });
});
