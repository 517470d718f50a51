import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playlistSegments } from '@mesh/harness';
import { LivePublisher } from './live-publisher';

const T0 = Date.parse('2026-12-06T12:00:00.000Z');

/** An ffmpeg run as the publisher sees it: segment files, and its own playlist listing them. */
class FakeRun {
  private readonly lines = new Map<string, string[]>();

  /** With `variants`, a ladder's run: each rendition its own playlist and segments. */
  constructor(
    private readonly dir: string,
    readonly prefix: string,
    private readonly variants: readonly string[] = [''],
  ) {}

  /** Segment `n` (of the renditions named, or all), starting `startS` seconds after T0. */
  async segment(n: number, startS: number, duration = 1, only = this.variants): Promise<void> {
    for (const variant of only) {
      const name = `${this.prefix}${variant === '' ? '' : `-${variant}`}-${n}.ts`;
      await writeFile(join(this.dir, name), 'ts');
      const lines = this.lines.get(variant) ?? ['#EXTM3U', '#EXT-X-TARGETDURATION:1'];
      lines.push(
        `#EXTINF:${duration.toFixed(6)},`,
        `#EXT-X-PROGRAM-DATE-TIME:${new Date(T0 + startS * 1000).toISOString()}`,
        name,
      );
      this.lines.set(variant, lines);
      await writeFile(join(this.dir, LivePublisher.runPlaylist(this.prefix, variant)), `${lines.join('\n')}\n`);
    }
  }
}

describe('LivePublisher', () => {
  let dir: string;
  let told: string[];
  const open = () =>
    LivePublisher.open(dir, {
      listSize: 4,
      segmentS: 1,
      renditions: null,
      published: (run) => told.push(`published ${run}`),
      switched: (from) => told.push(`switched from ${from}`),
    });
  const publicPlaylist = () => readFile(join(dir, 'index.m3u8'), 'utf8');
  const listed = async () => playlistSegments(await publicPlaylist());

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-publisher-'));
    told = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('lists a run’s segments as they come, says once when its first is out, and deletes what left the window', async () => {
    const publisher = await open();
    const a = new FakeRun(dir, 'r1-100');
    publisher.follow(a.prefix, false);
    await publisher.tick();
    expect(told).toEqual([]);

    await a.segment(0, 0, 0.5);
    await publisher.tick();
    expect(told).toEqual(['published r1-100']);
    expect(await listed()).toEqual(['r1-100-0.ts']);
    for (let n = 1; n <= 9; n++) await a.segment(n, n - 0.5);
    await publisher.tick();
    expect(told).toEqual(['published r1-100']);
    expect(await listed()).toEqual(['r1-100-6.ts', 'r1-100-7.ts', 'r1-100-8.ts', 'r1-100-9.ts']);
    expect(await publicPlaylist()).not.toContain('#EXT-X-DISCONTINUITY\n');
    // Out of the window: kept a little for slow players (the last four), then deleted.
    const segments = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort((x, y) => x.localeCompare(y));
    expect(segments).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((n) => `r1-100-${n}.ts`));
  });

  it('goes on from the old run to the new one beside it at the segment starting nearest where the old ended', async () => {
    const publisher = await open();
    const a = new FakeRun(dir, 'r1-100');
    publisher.follow(a.prefix, false);
    await a.segment(0, 0);
    await a.segment(1, 1);
    await publisher.tick();

    // A co-host joins: the new run starts beside it, 1.6 s in. The old one goes on meanwhile.
    const b = new FakeRun(dir, 'r2-200');
    publisher.follow(b.prefix, true);
    await a.segment(2, 2);
    await publisher.tick();
    expect(await listed()).toEqual(['r1-100-0.ts', 'r1-100-1.ts', 'r1-100-2.ts']);

    // Its first (short) segment starts 1.4 s before the old run's end (3 s): too early to go on from.
    // The old run's new segment waits meanwhile, so as not to move the end further.
    await b.segment(0, 1.6, 0.5);
    await a.segment(3, 3);
    await publisher.tick();
    expect(await listed()).toEqual(['r1-100-0.ts', 'r1-100-1.ts', 'r1-100-2.ts']);
    expect(told).toEqual(['published r1-100']);

    // Its next starts at 2.1 s… still over half a segment early; the one at 3.1 s is the one.
    await b.segment(1, 2.1);
    await b.segment(2, 3.1);
    await publisher.tick();
    expect(told).toEqual(['published r1-100', 'switched from r1-100', 'published r2-200']);
    const text = await publicPlaylist();
    expect(playlistSegments(text)).toEqual(['r1-100-0.ts', 'r1-100-1.ts', 'r1-100-2.ts', 'r2-200-2.ts']);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(text.indexOf('#EXT-X-DISCONTINUITY\n')).toBeLessThan(text.indexOf('r2-200-2.ts'));
    // What was passed over, of either run, is gone; the old run's playlist too.
    const files = await readdir(dir);
    expect(files.filter((f) => ['r1-100-3.ts', 'r2-200-0.ts', 'r2-200-1.ts', 'r1-100.m3u8'].includes(f))).toEqual([]);

    await b.segment(3, 4.1);
    await publisher.tick();
    expect(await listed()).toEqual(['r1-100-1.ts', 'r1-100-2.ts', 'r2-200-2.ts', 'r2-200-3.ts']);
  });

  it('keeps the run on air when the one that was to follow is abandoned', async () => {
    const publisher = await open();
    const a = new FakeRun(dir, 'r1-100');
    publisher.follow(a.prefix, false);
    await a.segment(0, 0);
    const b = new FakeRun(dir, 'r2-200');
    publisher.follow(b.prefix, true);
    publisher.abandon(b.prefix);
    await b.segment(0, 1);
    await a.segment(1, 1);
    await publisher.tick();
    expect(await listed()).toEqual(['r1-100-0.ts', 'r1-100-1.ts']);
    expect(told).toEqual(['published r1-100']);
  });

  it('writes a ladder: a master playlist, and each rendition cut alike, never ahead of the others', async () => {
    const renditions = [
      { name: '720p', width: 1280, height: 720, videoKbps: 2_800 },
      { name: '360p', width: 640, height: 360, videoKbps: 800 },
    ];
    const publisher = await LivePublisher.open(dir, {
      listSize: 4,
      segmentS: 1,
      renditions,
      published: (run) => told.push(`published ${run}`),
      switched: (from) => told.push(`switched from ${from}`),
    });
    const variants = renditions.map((r) => r.name);
    const a = new FakeRun(dir, 'r1-100', variants);
    publisher.follow(a.prefix, false);
    await a.segment(0, 0);
    // The 360p of segment 1 is not written yet: neither rendition lists segment 1.
    await a.segment(1, 1, 1, ['720p']);
    await publisher.tick();
    const list = async (file: string) => playlistSegments(await readFile(join(dir, file), 'utf8'));
    expect(await list('720p.m3u8')).toEqual(['r1-100-720p-0.ts']);
    expect(await list('360p.m3u8')).toEqual(['r1-100-360p-0.ts']);
    expect(await publicPlaylist()).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=2928000,RESOLUTION=1280x720',
        '720p.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=928000,RESOLUTION=640x360',
        '360p.m3u8',
        '',
      ].join('\n'),
    );
    await a.segment(1, 1, 1, ['360p']);

    // A new run beside: both renditions go on to it at the same segment.
    const b = new FakeRun(dir, 'r2-200', variants);
    publisher.follow(b.prefix, true);
    await b.segment(0, 1.6);
    await publisher.tick();
    expect(told).toEqual(['published r1-100', 'switched from r1-100', 'published r2-200']);
    for (const variant of variants) {
      const text = await readFile(join(dir, `${variant}.m3u8`), 'utf8');
      expect(playlistSegments(text)).toEqual(
        [0, 1].map((n) => `r1-100-${variant}-${n}.ts`).concat(`r2-200-${variant}-0.ts`),
      );
      expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    }
  });

  it('ends the playlist for players, and another replica goes on with it: sequences kept, one discontinuity', async () => {
    const first = await open();
    const a = new FakeRun(dir, 'r1-100');
    first.follow(a.prefix, false);
    for (let n = 0; n < 6; n++) await a.segment(n, n);
    await first.tick();
    await first.end();
    expect((await publicPlaylist()).trimEnd()).toMatch(/#EXT-X-ENDLIST$/);

    const second = await open();
    const b = new FakeRun(dir, 'r1-300');
    second.follow(b.prefix, false);
    await b.segment(0, 20);
    await second.tick();
    const text = await publicPlaylist();
    expect(text).not.toContain('#EXT-X-ENDLIST');
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:3\n');
    expect(playlistSegments(text)).toEqual(['r1-100-3.ts', 'r1-100-4.ts', 'r1-100-5.ts', 'r1-300-0.ts']);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
  });
});
