import { UrlTokens } from '@mesh/auth';

/** A signed playback URL of a stream's mixed HLS (API.md "Playback"). */
export interface PlaybackGrant {
  url: string;
  expiresAt: string;
}

/**
 * Signs and checks playback tokens. The token is a path segment
 * (`/live/{streamId}/{token}/index.m3u8`), so the segment URIs of the playlist,
 * relative to it, carry it too: hls.js, Safari and ffmpeg resolve them that way
 * without knowing about tokens.
 */
export class PlaybackSigner {
  private readonly tokens: UrlTokens;

  constructor(
    secret: Buffer,
    /** The lifetime of a URL unless a shorter one is asked for. */
    readonly defaultTtlS: number,
  ) {
    this.tokens = new UrlTokens(secret, 'playback');
  }

  grant(streamId: string, ttlS = this.defaultTtlS, nowMs = Date.now()): PlaybackGrant {
    const exp = Math.floor(nowMs / 1000) + Math.min(ttlS, this.defaultTtlS);
    const token = this.tokens.sign(streamId, exp);
    return { url: `/live/${streamId}/${token}/index.m3u8`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Whether `token` was signed for this stream with this secret and has not expired. */
  verify(streamId: string, token: string, nowMs = Date.now()): boolean {
    return this.tokens.verify(streamId, token, nowMs);
  }
}

/** A playback token in a logged URL, replaced (`/live/{id}/[redacted]/…`): whoever reads logs must not be able to play. */
export function redactPlaybackToken(url: string): string {
  return url.replace(/^(\/live\/[^/?#]+\/)[^/?#]+/, '$1[redacted]');
}
