import { PlaybackSigner, redactPlaybackToken } from './playback';

describe('PlaybackSigner', () => {
  const signer = new PlaybackSigner(Buffer.alloc(32, 7), 3_600);
  const now = Date.parse('2026-11-30T12:00:00Z');
  const tokenOf = (url: string) => url.split('/')[3] as string;

  it('grants a URL whose token plays that stream until it expires, and no other', () => {
    const grant = signer.grant('s1', 600, now);
    expect(grant.url).toMatch(/^\/live\/s1\/[0-9a-z]+\.[A-Za-z0-9_-]{43}\/index\.m3u8$/);
    expect(grant.expiresAt).toBe('2026-11-30T12:10:00.000Z');
    const token = tokenOf(grant.url);
    expect(signer.verify('s1', token, now + 599_000)).toBe(true);
    expect(signer.verify('s1', token, now + 600_000)).toBe(false);
    expect(signer.verify('s2', token, now)).toBe(false);
    expect(new PlaybackSigner(Buffer.alloc(32, 8), 3_600).verify('s1', token, now)).toBe(false);
  });

  it('refuses a token whose expiry was moved, or that is not one', () => {
    const token = tokenOf(signer.grant('s1', 600, now).url);
    const [exp, mac] = token.split('.') as [string, string];
    const later = (parseInt(exp, 36) + 3_600).toString(36);
    expect(signer.verify('s1', `${later}.${mac}`, now)).toBe(false);
    for (const bad of ['', 'x', `${exp}.`, `${exp}.${mac}x`, `${exp}.${mac.slice(1)}`, '../index.m3u8']) {
      expect(signer.verify('s1', bad, now)).toBe(false);
    }
  });

  it('never grants longer than its default lifetime', () => {
    expect(signer.grant('s1', 86_400, now).expiresAt).toBe('2026-11-30T13:00:00.000Z');
  });

  it('takes the token out of a logged URL', () => {
    const { url } = signer.grant('s1', 600, now);
    expect(redactPlaybackToken(url)).toBe('/live/s1/[redacted]/index.m3u8');
    expect(redactPlaybackToken(url.replace('index.m3u8', 'r1-2-3.ts'))).toBe('/live/s1/[redacted]/r1-2-3.ts');
    expect(redactPlaybackToken('/v1/orders/1')).toBe('/v1/orders/1');
  });
});
