import { PublicPlaylist, runSegments } from './live-playlist';

const at = (s: number) => Date.parse('2026-12-06T12:00:00.000Z') + s * 1000;
const segment = (name: string, startS: number | null, duration = 1) => ({
  name,
  duration,
  startMs: startS === null ? null : at(startS),
});

describe('a stream’s public live playlist', () => {
  it('reads a run’s own playlist as ffmpeg writes it: names, lengths and start times', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:1',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXTINF:0.533333,',
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:00.000+0000',
      'r2-9-0.ts',
      '#EXTINF:1.000000,',
      'r2-9-1.ts',
      '#EXT-X-ENDLIST',
    ].join('\n');
    expect(runSegments(text)).toEqual([
      { name: 'r2-9-0.ts', duration: 0.533333, startMs: at(0) },
      { name: 'r2-9-1.ts', duration: 1, startMs: null },
    ]);
  });

  it('slides its window, counting the media and discontinuity sequences of what leaves it', () => {
    const playlist = PublicPlaylist.empty(3, 1);
    expect(playlist.started).toBe(false);
    expect(playlist.append(segment('a-0.ts', 0), false)).toEqual([]);
    playlist.append(segment('a-1.ts', 1), false);
    playlist.append(segment('b-0.ts', 2), true);
    expect(playlist.append(segment('b-1.ts', 3), false)).toEqual(['a-0.ts']);
    expect(playlist.render()).toContain('#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n');
    expect(playlist.append(segment('b-2.ts', 4), false)).toEqual(['a-1.ts']);
    // b-0 carries the discontinuity tag: counted once it leaves.
    expect(playlist.names).toEqual(['b-0.ts', 'b-1.ts', 'b-2.ts']);
    expect(playlist.append(segment('b-3.ts', 5), false)).toEqual(['b-0.ts']);
    expect(playlist.render()).toContain('#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n');
    expect(playlist.endMs).toBe(at(6));
  });

  it('writes what players need, and goes on from its own text where another replica left it', () => {
    const first = PublicPlaylist.empty(6, 1);
    first.append(segment('a-0.ts', 0, 0.5), false);
    first.append(segment('a-1.ts', 0.5), false);
    first.append(segment('b-0.ts', 1.5), true);
    first.end();
    const text = first.render();
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-DISCONTINUITY-SEQUENCE:0',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:00.000Z',
        '#EXTINF:0.500000,',
        'a-0.ts',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:00.500Z',
        '#EXTINF:1.000000,',
        'a-1.ts',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:01.500Z',
        '#EXTINF:1.000000,',
        'b-0.ts',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );

    const again = PublicPlaylist.parse(text, 2, 1);
    expect(again.ended).toBe(true);
    // Trimmed to its own window: the discontinuity stays with b-0.
    expect(again.names).toEqual(['a-1.ts', 'b-0.ts']);
    again.append(segment('c-0.ts', 10), true);
    const next = again.render();
    expect(next).not.toContain('#EXT-X-ENDLIST');
    expect(next).toContain('#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n');
    expect(next.split('#EXT-X-DISCONTINUITY\n')).toHaveLength(3);
  });

  it('reads the playlist an earlier version’s ffmpeg appended to, sequences and all', () => {
    const old = [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:1',
      '#EXT-X-MEDIA-SEQUENCE:40',
      '#EXT-X-DISCONTINUITY-SEQUENCE:3',
      '#EXTINF:1.000000,',
      'r1-5-40.ts',
      '#EXT-X-DISCONTINUITY',
      '#EXTINF:1.000000,',
      'r2-6-0.ts',
    ].join('\n');
    const playlist = PublicPlaylist.parse(old, 6, 1);
    expect(playlist.started).toBe(true);
    expect(playlist.endMs).toBeNull();
    playlist.append(segment('r3-7-0.ts', 0), true);
    const text = playlist.render();
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:40\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n');
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(2);
  });
});
