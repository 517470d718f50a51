import { createHmac, timingSafeEqual } from 'node:crypto';

/** A signed playback URL of a stream's mixed HLS (API.md "Playback"). */
export interface PlaybackGrant {
  url: string;
  expiresAt: string;
}

/** `<expiry, base 36 seconds>.<HMAC-SHA256, base64url>`: short, URL-safe, one path segment. */
const TOKEN = /^([0-9a-z]{1,10})\.([A-Za-z0-9_-]{43})$/;

/**
 * Signs and checks playback tokens. The token is a path segment
 * (`/live/{streamId}/{token}/index.m3u8`), so the segment URIs of the playlist,
 * relative to it, carry it too: hls.js, Safari and ffmpeg resolve them that way
 * without knowing about tokens. Stateless: any gateway with the secret checks a
 * token another signed; nothing is stored per viewer.
 */
export class PlaybackSigner {
  constructor(
    private readonly secret: Buffer,
    /** The lifetime of a URL unless a shorter one is asked for. */
    readonly defaultTtlS: number,
  ) {}

  grant(streamId: string, ttlS = this.defaultTtlS, nowMs = Date.now()): PlaybackGrant {
    const exp = Math.floor(nowMs / 1000) + Math.min(ttlS, this.defaultTtlS);
    const token = `${exp.toString(36)}.${this.sign(streamId, exp)}`;
    return { url: `/live/${streamId}/${token}/index.m3u8`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Whether `token` was signed for this stream with this secret and has not expired. */
  verify(streamId: string, token: string, nowMs = Date.now()): boolean {
    const match = TOKEN.exec(token);
    if (!match) return false;
    const exp = parseInt(match[1] as string, 36);
    if (exp * 1000 <= nowMs) return false;
    return timingSafeEqual(Buffer.from(this.sign(streamId, exp)), Buffer.from(match[2] as string));
  }

  private sign(streamId: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`playback\n${streamId}\n${exp}`).digest('base64url');
  }
}

/** A playback token in a logged URL, replaced (`/live/{id}/[redacted]/…`): whoever reads logs must not be able to play. */
export function redactPlaybackToken(url: string): string {
  return url.replace(/^(\/live\/[^/?#]+\/)[^/?#]+/, '$1[redacted]');
}
