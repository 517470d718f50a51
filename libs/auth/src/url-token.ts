import { createHmac, timingSafeEqual } from 'node:crypto';

/** `<expiry, base 36 seconds>.<HMAC-SHA256, base64url>`: short, URL-safe, one path segment or query value. */
const TOKEN = /^([0-9a-z]{1,10})\.([A-Za-z0-9_-]{43})$/;

/**
 * Expiring capability tokens for URLs (playback, proof photos): an HMAC over
 * what they are for (`purpose`), the resource and the expiry. Stateless: any
 * process with the secret checks a token another signed; nothing is stored per
 * holder. A token for one purpose or resource is worthless for another.
 */
export class UrlTokens {
  constructor(
    private readonly secret: Buffer,
    private readonly purpose: string,
  ) {}

  /** A token for `resource` valid until `expS` (seconds since the epoch). */
  sign(resource: string, expS: number): string {
    return `${expS.toString(36)}.${this.mac(resource, expS)}`;
  }

  /** Whether `token` was signed for this purpose and resource with this secret, and has not expired. */
  verify(resource: string, token: string, nowMs = Date.now()): boolean {
    const match = TOKEN.exec(token);
    if (!match) return false;
    const expS = parseInt(match[1] as string, 36);
    if (expS * 1000 <= nowMs) return false;
    return timingSafeEqual(Buffer.from(this.mac(resource, expS)), Buffer.from(match[2] as string));
  }

  private mac(resource: string, expS: number): string {
    return createHmac('sha256', this.secret).update(`${this.purpose}\n${resource}\n${expS}`).digest('base64url');
  }
}
