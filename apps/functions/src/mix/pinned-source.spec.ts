import { compose, type MediaSource } from '@mesh/streams';
import { ffmpegArgs, ladderOf, pushArgs } from './ffmpeg-command';
import { pinned } from './pinned-source';

const dns: Record<string, string[]> = {
  'ingest.example.com': ['8.8.4.4'],
  'inside.example.com': ['10.0.0.7'],
  'v6.example.com': ['2606:4700::1111'],
};
const resolver = (host: string) => (dns[host] ? Promise.resolve(dns[host]) : Promise.reject(new Error('ENOTFOUND')));
const network = (scheme: 'rtmp' | 'srt' | 'https' | 'rtmps', url: string) =>
  ({ kind: 'network', scheme, url }) as const satisfies MediaSource;

describe('pinning a media URL to the address checked', () => {
  it('puts the checked address into rtmp and srt URLs, keeping the name for the rtmp tcUrl', async () => {
    expect(await pinned(network('rtmp', 'rtmp://ingest.example.com/live/key'), ['*'], resolver)).toEqual({
      ok: true,
      value: { url: 'rtmp://8.8.4.4/live/key', tcUrl: 'rtmp://ingest.example.com/live' },
    });
    expect(await pinned(network('srt', 'srt://v6.example.com:9000?streamid=a'), ['*'], resolver)).toEqual({
      ok: true,
      value: { url: 'srt://[2606:4700::1111]:9000?streamid=a' },
    });
  });

  it('leaves proxied schemes to the proxy, but refuses any that resolves inside', async () => {
    expect(await pinned(network('https', 'https://ingest.example.com/a.m3u8'), ['*'], resolver)).toEqual({
      ok: true,
      value: { url: 'https://ingest.example.com/a.m3u8' },
    });
    for (const source of [
      network('rtmp', 'rtmp://inside.example.com/live/key'),
      network('rtmps', 'rtmps://inside.example.com/live/key'),
      network('srt', 'srt://127.0.0.1:9000'),
    ]) {
      expect(await pinned(source, ['*'], resolver)).toMatchObject({ ok: false });
    }
    // Listed by the operator as an address: a local ingest may be private.
    expect(await pinned(network('srt', 'srt://127.0.0.1:9000'), ['127.0.0.1:*'], resolver)).toMatchObject({ ok: true });
  });
});

describe('the ffmpeg command of a mix', () => {
  const canvas = { width: 320, height: 180, fps: 30 };
  const out = {
    canvas,
    dir: '/tmp/s',
    segmentPrefix: 'r1-1',
    segmentS: 1,
    x264Preset: 'ultrafast',
    inputTimeoutS: 5,
    caFile: '/etc/ssl/certs/ca-certificates.crt',
    renditions: null,
  };
  const composition = compose(
    { participants: [{ userId: 'a', volume: 1, muted: false }], layout: 'grid', focus: null },
    canvas,
  );

  it('verifies TLS peers of https and rtmps inputs, and tells a pinned rtmp input its tcUrl', () => {
    const https = ffmpegArgs([network('https', 'https://cams.example.com/a.m3u8')], composition, {
      ...out,
      push: null,
    });
    expect(https.join(' ')).toContain('-tls_verify 1 -ca_file /etc/ssl/certs/ca-certificates.crt -i https://');
    const rtmp = ffmpegArgs(
      [{ ...network('rtmp', 'rtmp://8.8.4.4/live/key'), tcUrl: 'rtmp://cams.example.com/live' }],
      composition,
      { ...out, push: null },
    );
    expect(rtmp.join(' ')).toContain('-rtmp_tcurl rtmp://cams.example.com/live -i rtmp://8.8.4.4/live/key');
    expect(rtmp.join(' ')).not.toContain('tls_verify');
  });

  it("writes a pushing room's MPEG-TS to its relay beside the HLS, and gives the relay's pusher a pinned push's tcUrl", () => {
    const args = ffmpegArgs([{ kind: 'test-pattern' }], composition, { ...out, push: 'unix:/tmp/p/feed.sock' });
    expect(args.at(-1)).toBe(
      '[f=hls:hls_time=1:hls_init_time=0.5:hls_list_size=10:hls_flags=program_date_time+independent_segments+temp_file:hls_segment_filename=/tmp/s/r1-1-%d.ts]/tmp/s/r1-1.m3u8' +
        '|[f=mpegts:onfail=ignore]unix:/tmp/p/feed.sock',
    );
    const pusher = pushArgs(
      'unix:/tmp/p/pusher.sock',
      { url: 'rtmp://8.8.4.4/app/key', tcUrl: 'rtmp://ingest.example.com:1935/app' },
      out,
    ).join(' ');
    expect(pusher).toContain('-f mpegts -i unix:/tmp/p/pusher.sock -map 0 -c copy');
    expect(pusher).toMatch(/-rtmp_tcurl rtmp:\/\/ingest\.example\.com:1935\/app -f flv rtmp:\/\/8\.8\.4\.4\/app\/key$/);
    expect(pusher).not.toContain('tls_verify');
    expect(pushArgs('unix:/x', { url: 'rtmps://ingest.example.com/app/key' }, out).join(' ')).toContain(
      '-tls_verify 1 -ca_file /etc/ssl/certs/ca-certificates.crt -f flv rtmps://ingest.example.com/app/key',
    );
  });

  it('encodes a ladder once per rendition, each its own playlist, and pushes only the first', () => {
    const renditions = ladderOf({ width: 1280, height: 720, fps: 30 });
    expect(renditions.map((r) => `${r.name} ${r.width}x${r.height} ${r.videoKbps}k`)).toEqual([
      '720p 1280x720 2800k',
      '360p 640x360 800k',
    ]);
    const hlsOnly = ffmpegArgs([{ kind: 'test-pattern' }], composition, { ...out, renditions, push: null });
    const line = hlsOnly.join(' ');
    expect(line).toContain('[vout]split=2[lsplit0][lsplit1];[lsplit0]null[lv0];[lsplit1]scale=w=640:h=360[lv1]');
    expect(line).toContain('-map [lv0] -map [la0] -map [lv1] -map [la1]');
    expect(line).toContain('-b:v:1 800k -maxrate:v:1 800k -bufsize:v:1 1600k');
    expect(line).toContain('-var_stream_map v:0,a:0,name:720p v:1,a:1,name:360p');
    expect(hlsOnly.at(-1)).toBe('/tmp/s/r1-1-%v.m3u8');
    const pushed = ffmpegArgs([{ kind: 'test-pattern' }], composition, {
      ...out,
      renditions,
      push: 'unix:/tmp/p/feed.sock',
    });
    expect(pushed.at(-1)).toContain(':var_stream_map=v\\\\\\:0\\\\\\,a\\\\\\:0\\\\\\,name\\\\\\:720p v\\\\\\:1');
    expect(pushed.at(-1)).toContain("|[select=\\'v:0,a:0\\':f=mpegts:onfail=ignore]unix:/tmp/p/feed.sock");
  });
});
