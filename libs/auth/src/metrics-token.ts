import { problems } from '@mesh/problem';
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * `/metrics` behind METRICS_TOKEN (API.md "Operations"): with a token configured,
 * only `Authorization: Bearer <token>` gets the metrics; anything else is a 401.
 * Compared in constant time (as digests, so lengths do not leak either).
 */
export function requireMetricsToken(expected: string | null, authorization: string | undefined): void {
  if (expected === null) return;
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  if (!timingSafeEqual(digest(given), digest(expected))) {
    throw problems.unauthorized('Metrics need the configured bearer token.', given ? 'invalid_token' : undefined);
  }
}
