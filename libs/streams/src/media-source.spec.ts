import {
  addressListed,
  checkInputUrl,
  checkOutputUrl,
  endpointAllowed,
  hostMatches,
  maskUrl,
  maskUrls,
  type MediaPolicy,
} from './media-source';

const policy: MediaPolicy = {
  inputHosts: ['cams.example.com', '*.cdn.example.net', '*.cdn.example.net:9000', 'cams.example.com:8443'],
  outputHosts: ['ingest.example.com'],
  testSources: true,
  srtOptions: ['streamid', 'latency'],
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
    // Ports: the scheme's own unless the pattern names others.
    ['rtmp://cams.example.com:19350/live/x', /port 19350 of cams.example.com is not allowed/],
    ['https://cams.example.com:8080/x.m3u8', /port 8080/],
    ['srt://cams.example.com/x', /names its port/],
    // libsrt reads options from the query: only the listed ones, never mode.
    ['srt://edge.cdn.example.net:9000?mode=listener', /srt option mode/],
    ['srt://edge.cdn.example.net:9000?streamid=x&passphrase=y', /srt option passphrase/],
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

  it('reads ports in patterns: none for the default, a number, or *; IPv6 in brackets', () => {
    expect(endpointAllowed('cams.example.com', 1935, 1935, ['cams.example.com'])).toBe(true);
    expect(endpointAllowed('cams.example.com', 1936, 1935, ['cams.example.com'])).toBe(false);
    expect(endpointAllowed('cams.example.com', 1936, 1935, ['cams.example.com:1936'])).toBe(true);
    expect(endpointAllowed('cams.example.com', 40_000, 1935, ['cams.example.com:*'])).toBe(true);
    expect(endpointAllowed('::1', 8080, 80, ['[::1]:*'])).toBe(true);
    expect(endpointAllowed('::1', 8080, 80, ['::1'])).toBe(false);
    expect(addressListed('127.0.0.1', ['127.0.0.1:*'])).toBe(true);
    expect(addressListed('127.0.0.1', ['localhost:*', '*'])).toBe(false);
    expect(checkInputUrl('https://cams.example.com:8443/x.m3u8', policy)).toMatchObject({ ok: true });
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
    expect(maskUrls('Redirected to https://cdn.example.com/a/key?sig=1 from srt://h:9000?passphrase=p.')).toBe(
      'Redirected to https://cdn.example.com/… from srt://h:9000/….',
    );
    expect(maskUrl('test:color=red')).toBe('test:color=red');
  });
});
