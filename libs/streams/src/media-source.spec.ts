import { checkInputUrl, checkOutputUrl, hostMatches, maskUrl, type MediaPolicy } from './media-source';

const policy: MediaPolicy = {
  inputHosts: ['cams.example.com', '*.cdn.example.net'],
  outputHosts: ['ingest.example.com'],
  testSources: true,
};

describe('the media URL policy', () => {
  it.each([
    ['rtmp://cams.example.com/live/key', 'rtmp'],
    ['rtmps://cams.example.com:443/live/key', 'rtmps'],
    ['srt://edge.cdn.example.net:9000?streamid=x', 'srt'],
    ['https://a.b.cdn.example.net/room/index.m3u8', 'https'],
    ['http://cams.example.com/index.m3u8', 'http'],
  ])('accepts %s', (url, scheme) => {
    expect(checkInputUrl(url, policy)).toMatchObject({ ok: true, value: { kind: 'network', scheme } });
  });

  it.each([
    ['file:///etc/passwd', /only rtmp/],
    ['concat:a.ts|b.ts', /characters/],
    ['color=c=red:s=640x360', /only rtmp|not a URL/],
    ['subfile,,start,0,end,0,,:/etc/passwd', /not a URL/],
    ['rtmp://evil.example.org/live/x', /not allowed \(MIX_INPUT_HOSTS\)/],
    ['rtmp://cdn.example.net/live/x', /not allowed/],
    ['rtmp://user:pw@cams.example.com/live/x', /credentials/],
    ['rtmp://cams.example.com/live/x y', /characters/],
    ['rtmp://cams.example.com/live/[x]', /characters/],
    ['gopher://cams.example.com/x', /only rtmp/],
    ['test:color=chartreuse', /unknown test colour/],
    ['test:color=red;anything', /test sources are/],
  ])('refuses %s', (url, reason) => {
    const checked = checkInputUrl(url, policy);
    expect(checked.ok).toBe(false);
    expect(checked.ok ? '' : checked.reason).toMatch(reason);
  });

  it('allows test sources only when enabled', () => {
    expect(checkInputUrl('test:color=red', policy)).toEqual({ ok: true, value: { kind: 'test-color', color: 'red' } });
    expect(checkInputUrl('test:pattern', policy)).toEqual({ ok: true, value: { kind: 'test-pattern' } });
    expect(checkInputUrl('test:pattern', { ...policy, testSources: false })).toMatchObject({ ok: false });
  });

  it('pushes only to rtmp(s) on the allowed output hosts', () => {
    expect(checkOutputUrl('rtmp://ingest.example.com/app/key', policy)).toEqual({
      ok: true,
      value: 'rtmp://ingest.example.com/app/key',
    });
    expect(checkOutputUrl('https://ingest.example.com/app/key', policy)).toMatchObject({ ok: false });
    expect(checkOutputUrl('rtmp://cams.example.com/app/key', policy)).toMatchObject({ ok: false });
  });

  it('matches host patterns exactly, by subdomain, or anything with *', () => {
    expect(hostMatches('a.cdn.example.net', '*.cdn.example.net')).toBe(true);
    expect(hostMatches('cdn.example.net', '*.cdn.example.net')).toBe(false);
    expect(hostMatches('evilcdn.example.net', '*.cdn.example.net')).toBe(false);
    expect(hostMatches('CAMS.example.com'.toLowerCase(), 'cams.EXAMPLE.com')).toBe(true);
    expect(hostMatches('anything', '*')).toBe(true);
  });

  it('masks a URL down to scheme and host', () => {
    expect(maskUrl('rtmp://cams.example.com:1935/live/secret-key?token=t')).toBe('rtmp://cams.example.com:1935/…');
    expect(maskUrl('test:color=red')).toBe('test:color=red');
  });
});
