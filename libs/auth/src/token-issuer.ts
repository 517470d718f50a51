import { Injectable } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import type { Role, Vehicle } from '@mesh/contracts';
import { SignJWT } from 'jose';

export interface TokenRequest {
  sub: string;
  roles: readonly Role[];
  vehicle?: Vehicle;
  /** Lifetime in seconds (default 12 hours). */
  ttlS?: number;
}

/** Signs development tokens with the configured HS256 secret (`npm run token`, `POST /v1/dev/tokens`). */
@Injectable()
export class TokenIssuer {
  constructor(private readonly config: AppConfig) {}

  async issue({ sub, roles, vehicle, ttlS = 12 * 3600 }: TokenRequest): Promise<string> {
    const source = this.config.jwt.key;
    if (source.kind !== 'secret') throw new Error('development tokens need JWT_SECRET (HS256)');
    return new SignJWT({ roles: [...roles], ...(vehicle ? { vehicle } : {}) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(this.config.jwt.issuer)
      .setAudience(this.config.jwt.audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
      .sign(new TextEncoder().encode(source.secret));
  }
}
