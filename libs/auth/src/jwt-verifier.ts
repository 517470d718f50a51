import { Injectable } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { Role, Vehicle, type Principal } from '@mesh/contracts';
import { problems } from '@mesh/problem';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

const Claims = z.object({
  sub: z.string().min(1).max(200),
  roles: z.array(Role).max(5),
  exp: z.number(),
  iat: z.number(),
  vehicle: Vehicle.optional(),
});

/** How far apart the issuer's clock and this one may be. */
const CLOCK_TOLERANCE_S = 5;

/** Verified tokens remembered (a courier app sends the same token with every request and socket event). */
const VERIFIED_TOKENS = 20_000;

/**
 * Verifies API bearer tokens (API.md "Auth"): signature with the one configured
 * key and its algorithm only (no `alg: none`, no HS/RS confusion), `iss`, `aud`,
 * `exp`/`nbf`, an `iat` not in the future, a lifetime (`exp - iat`) of at most
 * JWT_MAX_LIFETIME_S, and the claims the API relies on. A token that passed is
 * remembered until it expires, so a busy client's requests skip the signature
 * check; one that failed is checked again every time. With a JWKS, a key taken
 * out of the set refuses new tokens at once, while tokens it already passed
 * here stay accepted by this process until they expire.
 */
@Injectable()
export class JwtVerifier {
  private readonly key: JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly verified = new LRUCache<string, Principal>({ max: VERIFIED_TOKENS });

  constructor(private readonly config: AppConfig) {
    const source = config.jwt.key;
    switch (source.kind) {
      case 'secret': {
        const secret = new TextEncoder().encode(source.secret);
        this.key = () => secret;
        this.algorithms = [source.algorithm];
        break;
      }
      case 'public-key': {
        const publicKey: KeyObject = createPublicKey(source.pem);
        this.key = () => publicKey;
        this.algorithms = [source.algorithm];
        break;
      }
      case 'jwks':
        this.key = createRemoteJWKSet(new URL(source.url), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
        this.algorithms = [...source.algorithms];
        break;
    }
  }

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw problems.unauthorized();
    const known = this.verified.get(token);
    if (known && known.exp * 1000 > Date.now()) return known;
    const principal = await this.check(token);
    // Until `exp` and no longer: past it the cached entry is gone and the full check answers 401.
    const ttl = principal.exp * 1000 - Date.now();
    if (ttl > 0) this.verified.set(token, principal, { ttl });
    return principal;
  }

  private async check(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const options = {
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        algorithms: this.algorithms,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      };
      ({ payload } = await jwtVerify(token, this.key, options));
    } catch (err) {
      throw problems.unauthorized(describe(err), 'invalid_token');
    }
    const claims = Claims.safeParse(payload);
    if (!claims.success) throw problems.unauthorized('The token lacks valid sub/roles claims.', 'invalid_token');
    const { sub, roles, exp, iat, vehicle } = claims.data;
    if (iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
      throw problems.unauthorized('The token is issued in the future.', 'invalid_token');
    }
    if (exp - iat > this.config.jwt.maxLifetimeS) {
      throw problems.unauthorized('The token is valid for longer than this service accepts.', 'invalid_token');
    }
    return { sub, roles, exp, ...(vehicle ? { vehicle } : {}) };
  }
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'The token has expired.';
  if (err instanceof errors.JWTClaimValidationFailed) return `The token's ${err.claim} claim is not accepted.`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted.';
  return 'The token is not valid.';
}
