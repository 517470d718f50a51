import { AppConfig } from '@mesh/config';
import { ProblemError } from '@mesh/problem';
import { exportSPKI, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { JwtVerifier } from './jwt-verifier';
import { TokenIssuer } from './token-issuer';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const hsConfig = AppConfig.fromEnv({ JWT_SECRET: SECRET, JWT_ISSUER: 'mesh', JWT_AUDIENCE: 'apps' });

function sign(
  claims: { sub?: string; iss?: string; aud?: string; exp?: number; iat?: number; roles?: unknown },
  { alg = 'HS256', key }: { alg?: string; key?: KeyLike | Uint8Array } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: ['courier'], ...claims })
    .setProtectedHeader({ alg })
    .setSubject(claims.sub ?? 'courier-1')
    .setIssuer(claims.iss ?? 'mesh')
    .setAudience(claims.aud ?? 'apps')
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key ?? new TextEncoder().encode(SECRET));
}

async function rejection(verifier: JwtVerifier, token: string | undefined): Promise<ProblemError> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProblemError);
  expect((err as ProblemError).status).toBe(401);
  return err as ProblemError;
}

describe('JwtVerifier with an HS256 secret', () => {
  const verifier = new JwtVerifier(hsConfig);

  it('accepts a good token and returns who is calling', async () => {
    await expect(
      verifier.verify(await sign({ sub: 'courier-9', roles: ['courier', 'dispatcher'] })),
    ).resolves.toMatchObject({
      sub: 'courier-9',
      roles: ['courier', 'dispatcher'],
    });
  });

  it('accepts the tokens its own issuer mints', async () => {
    const token = await new TokenIssuer(hsConfig).issue({ sub: 'd-1', roles: ['dispatcher'] });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'd-1', roles: ['dispatcher'] });
  });

  it('rejects a token it accepted before once the token has expired', async () => {
    const now = Date.now();
    const token = await sign({ sub: 'courier-7', exp: Math.floor(now / 1000) + 60 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'courier-7' });
    jest.useFakeTimers({ now: now + 120_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const err = await rejection(verifier, token);
      expect(err.detail).toMatch(/expired/);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects a missing token', async () => {
    await rejection(verifier, undefined);
  });

  it('rejects an expired token, saying so', async () => {
    const err = await rejection(verifier, await sign({ exp: Math.floor(Date.now() / 1000) - 60 }));
    expect(err.detail).toMatch(/expired/);
  });

  it('rejects a token issued in the future, or valid for longer than JWT_MAX_LIFETIME_S (24 h)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tenYears = 10 * 365 * 86_400;
    expect((await rejection(verifier, await sign({ iat: now + tenYears, exp: now + tenYears + 600 }))).detail).toMatch(
      /future/,
    );
    const err = await rejection(verifier, await sign({ exp: now + tenYears }));
    expect(err.detail).toMatch(/longer/);
    expect(err.headers['WWW-Authenticate']).toBe('Bearer realm="dispatch-mesh", error="invalid_token"');
    await expect(verifier.verify(await sign({ exp: now + 24 * 3_600 }))).resolves.toMatchObject({ sub: 'courier-1' });
  });

  it('rejects the wrong audience and the wrong issuer', async () => {
    expect((await rejection(verifier, await sign({ aud: 'someone-else' }))).detail).toMatch(/aud/);
    expect((await rejection(verifier, await sign({ iss: 'someone-else' }))).detail).toMatch(/iss/);
  });

  it('rejects alg:none', async () => {
    const [, payload] = (await sign({})).split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    await rejection(verifier, `${none}.${payload}.`);
  });

  it('rejects a token signed with another secret', async () => {
    await rejection(
      verifier,
      await sign({}, { key: new TextEncoder().encode('another-secret-that-is-long-enough-000000') }),
    );
  });

  it('rejects unknown roles and a missing roles claim', async () => {
    await rejection(verifier, await sign({ roles: ['admin'] }));
    await rejection(verifier, await sign({ roles: undefined }));
  });
});

describe.each(['RS256', 'ES256'] as const)('JwtVerifier with a %s public key', (alg) => {
  let verifier: JwtVerifier;
  let privateKey: KeyLike;
  let pem: string;

  beforeAll(async () => {
    const pair = await generateKeyPair(alg);
    privateKey = pair.privateKey;
    pem = await exportSPKI(pair.publicKey);
    verifier = new JwtVerifier(AppConfig.fromEnv({ JWT_PUBLIC_KEY: pem, JWT_ISSUER: 'mesh', JWT_AUDIENCE: 'apps' }));
  });

  it('accepts a token signed with the matching private key', async () => {
    await expect(
      verifier.verify(await sign({ sub: 'h-1', roles: ['host'] }, { alg, key: privateKey })),
    ).resolves.toMatchObject({
      sub: 'h-1',
    });
  });

  it('rejects algorithm confusion: HS256 signed with the public key as the secret', async () => {
    await rejection(verifier, await sign({}, { alg: 'HS256', key: new TextEncoder().encode(pem) }));
  });
});
