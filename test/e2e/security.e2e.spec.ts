import type { StreamView } from '@mesh/contracts';
import { MIX_FAILED } from '@mesh/streams';
import {
  connectSocket,
  eventually,
  freePort,
  mixProcesses,
  playlistSegments,
  startProcess,
  startStack,
  type RunningStack,
} from '@mesh/testing';
import { SignJWT } from 'jose';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromAddress } from './support/from-address';
import { LiveRooms, mixEnv, noMixProcesses, type Person } from './support/live-room';

const METRICS_TOKEN = 'metrics-scraper-token-for-e2e';
/** Per address and 10 s window, for requests without a token or with a refused one. */
const ANON_LIMIT = 100;
const ANON_SOCKETS = 5;
const DASHBOARD_ORIGIN = 'https://dash.example.com';

/**
 * The outside review's findings (issue "Security: close what an outside review
 * found"), each reproduced the way the reviewer did, against the real stack.
 * Every test here fails on the code the review looked at.
 */
describe('security review findings (real Kafka, Redis and ffmpeg)', () => {
  let stack: RunningStack;
  let rooms: LiveRooms;
  let host: Person;

  /** Media servers the inputs point at: on 127.0.0.2 (any port allowed) and 127.0.0.3 (one port). */
  const media: Server[] = [];
  const mediaHits: string[] = [];
  let redirecting: number;
  let selfSigned: number;

  beforeAll(async () => {
    // 127.0.0.3:<redirecting> sends ffmpeg to another port of the same host, which is not allowed.
    const elsewhere = await listenOn(
      createServer((req, res) => {
        mediaHits.push(`elsewhere ${req.url}`);
        res.writeHead(404).end();
      }),
      '127.0.0.3',
    );
    const redirector = await listenOn(
      createServer((req, res) => {
        mediaHits.push(`redirector ${req.url}`);
        res.writeHead(302, { location: `http://127.0.0.3:${portOf(elsewhere)}/stolen.m3u8` }).end();
      }),
      '127.0.0.3',
    );
    const tls = await listenOn(
      createHttpsServer(selfSignedCertificate('127.0.0.2'), (req, res) => {
        mediaHits.push(`tls ${req.url}`);
        res.writeHead(404).end();
      }),
      '127.0.0.2',
    );
    media.push(elsewhere, redirector, tls);
    [redirecting, selfSigned] = [portOf(redirector), portOf(tls)];
    stack = await startStack({
      ...mixEnv(),
      // "localhost" is allowed by name, but a name never reaches a loopback or private address;
      // 127.0.0.2 and 127.0.0.3 are listed as addresses, as an operator lists a local ingest.
      MIX_INPUT_HOSTS: `localhost:*,127.0.0.2:*,127.0.0.3:${redirecting}`,
      MIX_OUTPUT_HOSTS: 'localhost:*,127.0.0.2:*',
      MIX_SRT_OPTIONS: 'streamid,latency',
      MIX_MAX_ROOMS_PER_HOST: '3',
      MIX_RESTARTS_PER_MIN: '4',
      METRICS_TOKEN,
      ANON_RATE_LIMIT_REQUESTS: String(ANON_LIMIT),
      ANON_SOCKETS_PER_IP: String(ANON_SOCKETS),
      SOCKET_HANDSHAKE_TIMEOUT_S: '2',
      CORS_ORIGINS: DASHBOARD_ORIGIN,
    });
    rooms = new LiveRooms(stack);
    host = await rooms.person('host', ['host']);
  });
  afterAll(async () => {
    rooms?.close();
    await stack?.stop();
    await Promise.all(media.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  describe('1. nobody watches a live room without a playback URL, and no public place names it', () => {
    let live: StreamView;
    beforeAll(async () => {
      live = await rooms.goLive(host, (await rooms.stream(host, ['test:pattern'])).id);
    });
    afterAll(async () => {
      await host.api('POST', `/v1/streams/${live.id}/stop`);
      await noMixProcesses(live.id);
    });

    it('plays only with a signed URL, segments included, and 404s a guessed, forged or borrowed one', async () => {
      const grant = await host.api<{ url: string; expiresAt: string }>('POST', `/v1/streams/${live.id}/playback`, {
        ttlS: 600,
      });
      expect(grant.status).toBe(201);
      const expiresInS = (Date.parse(grant.body.expiresAt) - Date.now()) / 1000;
      expect(expiresInS).toBeGreaterThan(590);
      expect(expiresInS).toBeLessThanOrEqual(600);
      // A player follows the playlist's relative segment URIs: they carry the token.
      const playlistUrl = new URL(grant.body.url, stack.baseUrl);
      const segment = await eventually(
        async () => {
          const names = playlistSegments(await (await fetch(playlistUrl)).text());
          if (names.length === 0) throw new Error('no segment yet');
          return new URL(names[0] as string, playlistUrl);
        },
        { intervalMs: 300 },
      );
      expect((await fetch(segment)).status).toBe(200);

      const token = grant.body.url.split('/')[3] as string;
      const other = await rooms.stream(host, ['test:pattern']);
      const segmentName = segment.pathname.split('/').at(-1) as string;
      for (const path of [
        `/live/${live.id}/index.m3u8`, // the old public path
        `/live/${live.id}/${segmentName}`,
        `/live/${live.id}/${token.slice(0, -2)}xx/index.m3u8`, // forged
        `/live/${live.id}/${(parseInt(token, 36) + 86_400).toString(36)}.${token.split('.')[1]}/index.m3u8`, // extended
        `/live/${other.id}/${token}/index.m3u8`, // another room's
      ]) {
        expect({ path, status: (await fetch(`${stack.baseUrl}${path}`)).status }).toEqual({ path, status: 404 });
      }
    });

    it('gives the host, its participants and dispatchers a fresh URL in the view, and no one else a new one', async () => {
      const [dispatcher, stranger] = await Promise.all([
        rooms.person('dispatcher', ['dispatcher']),
        rooms.person('host', ['host']),
      ]);
      const seen = await dispatcher.api<StreamView>('GET', `/v1/streams/${live.id}`);
      expect(seen.status).toBe(200);
      expect((await fetch(new URL(seen.body.output.hlsUrl ?? '', stack.baseUrl))).status).toBe(200);
      expect((await stranger.api('POST', `/v1/streams/${live.id}/playback`, {})).status).toBe(404);
      expect((await dispatcher.api('POST', `/v1/streams/${live.id}/playback`, {})).status).toBe(403);
    });

    it('answers /metrics only to METRICS_TOKEN, on the gateway and the functions, and names no stream there', async () => {
      for (const base of [stack.baseUrl, stack.functionsUrl]) {
        const anonymous = await fetch(`${base}/metrics`);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
        const wrong = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
        expect(wrong.status).toBe(401);
        const page = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(page.status).toBe(200);
        const text = await page.text();
        expect(text).toContain('mesh_');
        expect(text).not.toContain(live.id);
      }
    });

    it('keeps playback tokens out of the logs', async () => {
      const grant = await host.api<{ url: string }>('POST', `/v1/streams/${live.id}/playback`, {});
      const token = grant.body.url.split('/')[3] as string;
      // A 404 under a valid token is logged (4xx at warn), with its path.
      const missing = await fetch(`${stack.baseUrl}/live/${live.id}/${token}/r999-1-1.ts`);
      expect(missing.status).toBe(404);
      await eventually(() =>
        expect(stack.gateway.output.join('')).toContain(`/live/${live.id}/[redacted]/r999-1-1.ts`),
      );
      expect(stack.gateway.output.join('')).not.toContain(token);
    });
  });

  describe('2. no credential reaches a log line', () => {
    it('logs a refused request without its bearer token, valid or not', async () => {
      const customer = await rooms.person('customer', ['customer']);
      const refused = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.not-a-valid-signature';
      const asked = [
        await fetch(`${stack.baseUrl}/v1/streams/nope`, { headers: { authorization: `Bearer ${customer.token}` } }),
        await fetch(`${stack.baseUrl}/v1/orders`, { headers: { authorization: `Bearer ${refused}` } }),
      ];
      expect(asked.map((r) => r.status)).toEqual([404, 401]);
      const ids = asked.map((r) => r.headers.get('x-request-id') ?? '');
      // 4xx are logged at warn, with their request ids; the headers' credentials are redacted.
      await eventually(() => {
        for (const id of ids) expect(stack.gateway.output.join('')).toContain(id);
      });
      const log = stack.gateway.output.join('');
      expect(log).not.toContain(customer.token);
      expect(log).not.toContain(refused);
      expect(log).toContain('[redacted]');
    });
  });

  describe('3. room membership follows access', () => {
    it('takes a removed co-host out of the room at once, and lets them unsubscribe anyway', async () => {
      const [guest, dispatcher] = await Promise.all([
        rooms.person('guest', ['customer']),
        rooms.person('dispatcher', ['dispatcher']),
      ]);
      const stream = await rooms.stream(host, ['test:pattern']);
      expect(
        (await host.api('PUT', `/v1/streams/${stream.id}/participants/${guest.id}`, { inputUrl: 'test:pattern' }))
          .status,
      ).toBe(202);
      for (const who of [guest, dispatcher]) {
        expect(await who.socket.emitWithAck('stream.subscribe', { streamId: stream.id })).toEqual({ ok: true });
      }
      const layout = await host.api<StreamView>('PUT', `/v1/streams/${stream.id}/layout`, { layout: 'speaker' });
      await guest.inbox.next('stream.updated', (s) => s.id === stream.id && s.revision === layout.body.revision);

      const removed = await host.api<StreamView>('DELETE', `/v1/streams/${stream.id}/participants/${guest.id}`);
      expect(removed.status).toBe(202);
      const after = await host.api<StreamView>('PUT', `/v1/streams/${stream.id}/layout`, { layout: 'grid' });
      // The dispatcher still watching hears the change; by then the removed guest would have too. (The
      // update that removes the guest may still reach them: it is news to them too.)
      await dispatcher.inbox.next('stream.updated', (s) => s.id === stream.id && s.revision === after.body.revision);
      expect(
        guest.inbox.all('stream.updated').filter((s) => s.id === stream.id && s.revision > removed.body.revision),
      ).toEqual([]);
      expect(await guest.socket.emitWithAck('stream.unsubscribe', { streamId: stream.id })).toEqual({ ok: true });
      // And cannot come back in.
      expect(await guest.socket.emitWithAck('stream.subscribe', { streamId: stream.id })).toMatchObject({
        ok: false,
        error: { status: 404 },
      });
    });

    it('closes a socket when the token it was opened with expires', async () => {
      const token = await stack.token(`short-${Date.now()}`, ['customer'], 2);
      const socket = await connectSocket(stack.baseUrl, token);
      try {
        const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
        expect(reason).toBe('io server disconnect');
      } finally {
        socket.disconnect();
      }
    });
  });

  describe('4. what a caller without a valid token can hold is bounded', () => {
    it('throttles requests without a token, per address, with 429 and Retry-After', async () => {
      const client = fromAddress('127.0.0.3');
      const statuses: number[] = [];
      for (let i = 0; i <= ANON_LIMIT; i++) statuses.push((await client.get(`${stack.baseUrl}/readyz`)).status);
      expect(statuses.slice(0, ANON_LIMIT).every((s) => s === 200)).toBe(true);
      const refused = await client.get(`${stack.baseUrl}/readyz`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      // Another address is not affected, and probes stay free.
      expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
      expect((await client.get(`${stack.baseUrl}/healthz`)).status).toBe(200);
    });

    it('throttles refused tokens per address, so tokens cannot be guessed at speed', async () => {
      const client = fromAddress('127.0.0.4');
      const guess = { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.guess' };
      const statuses: number[] = [];
      for (let i = 0; i <= ANON_LIMIT; i++)
        statuses.push((await client.get(`${stack.baseUrl}/v1/orders`, guess)).status);
      expect(statuses.slice(0, ANON_LIMIT).every((s) => s === 401)).toBe(true);
      expect(statuses[ANON_LIMIT]).toBe(429);
      // A valid token from the same address is its user's business, not the address's.
      const customer = await rooms.person('customer', ['customer']);
      const valid = await client.get(`${stack.baseUrl}/v1/orders`, { authorization: `Bearer ${customer.token}` });
      expect(valid.status).toBe(200);
    });

    it('caps Engine.IO sessions not signed in per address, and closes them after the handshake deadline', async () => {
      const client = fromAddress('127.0.0.5');
      const handshake = () => client.get(`${stack.baseUrl}/socket.io/?EIO=4&transport=polling`);
      const sids: string[] = [];
      for (let i = 0; i < ANON_SOCKETS; i++) {
        const res = await handshake();
        expect(res.status).toBe(200);
        sids.push((JSON.parse(res.body.slice(1)) as { sid: string }).sid);
      }
      expect((await handshake()).status).toBe(403);
      // Never signed in: gone after SOCKET_HANDSHAKE_TIMEOUT_S (2 s), and the address may try again.
      await eventually(
        async () => {
          const poll = await client.get(`${stack.baseUrl}/socket.io/?EIO=4&transport=polling&sid=${sids[0]}`);
          expect(poll.status).toBe(400);
        },
        { timeoutMs: 8_000, intervalMs: 500 },
      );
      await eventually(async () => expect((await handshake()).status).toBe(200), { timeoutMs: 8_000, intervalMs: 500 });
    });
  });

  describe('4. live rooms and their ffmpeg are bounded', () => {
    it('lets a host have MIX_MAX_ROOMS_PER_HOST (3) rooms live at once: 409 past it, room again once one stops', async () => {
      const host = await rooms.person('host', ['host']);
      const streams = await Promise.all([0, 1, 2, 3].map(() => rooms.stream(host, ['rtmp://127.0.0.2:9/live/cam'])));
      for (const stream of streams.slice(0, 3)) {
        expect((await host.api('POST', `/v1/streams/${stream.id}/start`)).status).toBe(202);
      }
      const fourth = await host.api('POST', `/v1/streams/${streams[3]!.id}/start`);
      expect(fourth).toMatchObject({ status: 409, body: { detail: expect.stringMatching(/3 live rooms/) } });
      expect((await host.api<StreamView>('GET', `/v1/streams/${streams[3]!.id}`)).body.status).toBe('idle');
      expect((await host.api('POST', `/v1/streams/${streams[0]!.id}/stop`)).status).toBe(202);
      expect((await host.api('POST', `/v1/streams/${streams[3]!.id}/start`)).status).toBe(202);
      await Promise.all(streams.map((s) => host.api('POST', `/v1/streams/${s.id}/stop`)));
    });

    it('restarts a room’s ffmpeg at most MIX_RESTARTS_PER_MIN (4) times a minute, however fast it is changed', async () => {
      const host = await rooms.person('host', ['host']);
      const live = await rooms.goLive(host, (await rooms.stream(host, ['test:pattern', 'test:color=red'])).id);
      const seen = new Set(mixProcesses(live.id));
      const watching = setInterval(() => mixProcesses(live.id).forEach((pid) => seen.add(pid)), 50);
      try {
        for (let i = 0; i < 8; i++) {
          const layout = i % 2 === 0 ? 'speaker' : 'grid';
          expect((await host.api('PUT', `/v1/streams/${live.id}/layout`, { layout })).status).toBe(202);
        }
        // Long enough for eight restarts one after the other (each well under a second here).
        await new Promise((resolve) => setTimeout(resolve, 4_000));
      } finally {
        clearInterval(watching);
      }
      // The first ffmpeg and three restarts; the other changes wait for the minute to turn.
      expect(seen.size).toBeGreaterThanOrEqual(2);
      expect(seen.size).toBeLessThanOrEqual(4);
      expect(mixProcesses(live.id)).toHaveLength(1);
      expect((await host.api('POST', `/v1/streams/${live.id}/stop`)).status).toBe(202);
      await noMixProcesses(live.id);
    });
  });

  describe('6. the smaller findings', () => {
    it('refuses the same Idempotency-Key with a different body (422), placing nothing', async () => {
      const customer = await rooms.person('customer', ['customer']);
      const place = (lat: number) =>
        customer.api(
          'POST',
          '/v1/orders',
          { pickup: { lat, lng: 2.35 }, dropoff: { lat: 48.86, lng: 2.36 } },
          { 'Idempotency-Key': 'same-key' },
        );
      expect((await place(48.85)).status).toBe(202);
      const different = await place(48.851);
      expect(different.status).toBe(422);
      expect(different.body).toMatchObject({ status: 422, detail: expect.stringMatching(/Idempotency-Key/) });
      expect((await place(48.85)).status).toBe(202); // the same body is still a retry
      const mine = await customer.api<{ items: unknown[] }>('GET', '/v1/orders?limit=10');
      expect(mine.body.items).toHaveLength(1);
    });

    it('names the scheme on a 401 (WWW-Authenticate), and says a refused token was invalid', async () => {
      const none = await fetch(`${stack.baseUrl}/v1/orders`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="dispatch-mesh"');
      const bad = await fetch(`${stack.baseUrl}/v1/orders`, { headers: { authorization: 'Bearer nope' } });
      expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="dispatch-mesh", error="invalid_token"');
    });

    it('sends security headers on the API and on /docs', async () => {
      for (const path of ['/v1/orders', '/docs/', '/dashboard']) {
        const res = await fetch(`${stack.baseUrl}${path}`);
        expect({ path, nosniff: res.headers.get('x-content-type-options') }).toEqual({ path, nosniff: 'nosniff' });
        expect(res.headers.get('content-security-policy')).toMatch(/default-src '(self|none)'/);
        expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
      }
    });

    it('opens sockets only from the gateway’s own origin, CORS_ORIGINS, or apps that send none', async () => {
      const client = fromAddress('127.0.0.6');
      await expect(client.socket(stack.baseUrl, host.token, { Origin: 'https://evil.example' })).rejects.toThrow();
      for (const origin of [DASHBOARD_ORIGIN, stack.baseUrl, undefined]) {
        const socket = await client.socket(stack.baseUrl, host.token, origin ? { Origin: origin } : {});
        expect(socket.connected).toBe(true);
        socket.close();
      }
    });

    it('tells only the host why a mix failed (ffmpeg names addresses)', async () => {
      const [host, dispatcher] = await Promise.all([
        rooms.person('host', ['host']),
        rooms.person('dispatcher', ['dispatcher']),
      ]);
      const closed = `rtmp://127.0.0.2:9/live/key-${Date.now()}`;
      const stream = await rooms.stream(host, [closed]);
      expect((await host.api('POST', `/v1/streams/${stream.id}/start`)).status).toBe(202);
      const failed = await rooms.statusReaches(host, stream.id, 'failed');
      expect(failed.error).toMatch(/input of guest-0 failed/);
      const seen = await dispatcher.api<StreamView>('GET', `/v1/streams/${stream.id}`);
      expect(seen.body.error).toBe(MIX_FAILED);
      expect(JSON.stringify(seen.body)).not.toContain('/live/key-');
      // 2. The input's key reaches no log line either (the failure is logged at warn).
      await eventually(() => expect(stack.functions.output.join('')).toContain('mix failed'));
      expect(stack.functions.output.join('')).not.toContain(closed.split('/').at(-1));
    });

    it('refuses tokens issued in the future or valid for years', async () => {
      const secret = new TextEncoder().encode(String(stack.env.JWT_SECRET));
      const now = Math.floor(Date.now() / 1000);
      const tenYears = 10 * 365 * 86_400;
      const sign = (iat: number, exp: number) =>
        new SignJWT({ roles: ['customer'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('time-traveller')
          .setIssuer(String(stack.env.JWT_ISSUER ?? 'dispatch-mesh'))
          .setAudience(String(stack.env.JWT_AUDIENCE ?? 'dispatch-mesh-api'))
          .setIssuedAt(iat)
          .setExpirationTime(exp)
          .sign(secret);
      for (const token of [await sign(now + tenYears, now + tenYears + 600), await sign(now, now + tenYears)]) {
        const res = await fetch(`${stack.baseUrl}/v1/orders`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(401);
      }
      expect(
        (
          await fetch(`${stack.baseUrl}/v1/orders`, {
            headers: { authorization: `Bearer ${await sign(now, now + 600)}` },
          })
        ).status,
      ).toBe(200);
    });

    it('says on /readyz which dependency is down, not where it is', async () => {
      const [port, deadKafka, deadRedis] = [await freePort(), await freePort(), await freePort()];
      const gateway = startProcess('gateway', 'apps/gateway/src/main.js', {
        ...stack.env,
        PORT: String(port),
        KAFKA_BROKERS: `127.0.0.1:${deadKafka}`,
        REDIS_URL: `redis://127.0.0.1:${deadRedis}`,
      });
      try {
        const res = await eventually(
          async () => {
            const answer = await fetch(`http://127.0.0.1:${port}/readyz`);
            expect(answer.status).toBe(503);
            return answer;
          },
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        const body = await res.text();
        expect(JSON.parse(body)).toMatchObject({ checks: { kafka: { status: 'down' }, redis: { status: 'down' } } });
        for (const secret of [String(deadKafka), String(deadRedis), 'ECONNREFUSED']) expect(body).not.toContain(secret);
      } finally {
        await gateway.stop('SIGKILL');
      }
    });

    it('will not start with development tokens beyond loopback, or keys fetched over plain http', async () => {
      for (const [env, named] of [
        [{ DEV_TOKENS: '1', HOST: '0.0.0.0' }, /DEV_TOKENS/],
        [{ JWT_SECRET: '', JWT_JWKS_URL: 'http://idp.example/jwks' }, /JWT_JWKS_URL/],
      ] as const) {
        const gateway = startProcess('gateway', 'apps/gateway/src/main.js', { ...stack.env, PORT: '0', ...env });
        try {
          await eventually(() => expect(gateway.child.exitCode).not.toBeNull(), { timeoutMs: 15_000, intervalMs: 100 });
          expect(gateway.child.exitCode).not.toBe(0);
          expect(gateway.output.join('')).toMatch(named);
        } finally {
          await gateway.stop('SIGKILL');
        }
      }
    });
  });

  describe('5. a media URL reaches only what the operator allowed, and nothing of ffmpeg’s options', () => {
    const refusedInput = async (inputUrl: string) => {
      const stream = await rooms.stream(host, []);
      const res = await host.api('PUT', `/v1/streams/${stream.id}/participants/guest`, { inputUrl });
      return { inputUrl, status: res.status, errors: (res.body as { errors?: { message: string }[] }).errors };
    };

    it('refuses libsrt options in the query unless MIX_SRT_OPTIONS lists them, and mode always', async () => {
      expect(await refusedInput('srt://127.0.0.2:19370?mode=listener')).toMatchObject({
        status: 400,
        errors: [{ message: expect.stringMatching(/srt option mode/) }],
      });
      expect((await refusedInput('srt://127.0.0.2:19370?passphrase=x')).status).toBe(400);
      expect((await refusedInput('srt://127.0.0.2:19370?streamid=cam1')).status).toBe(202);
    });

    it('refuses an allowed name that resolves to a loopback address, for every protocol, output included', async () => {
      for (const url of ['rtmp://localhost/live/key', 'srt://localhost:9000', 'http://localhost:8080/x.m3u8']) {
        expect(await refusedInput(url)).toMatchObject({
          status: 400,
          errors: [{ message: expect.stringMatching(/resolves to a loopback, private or link-local address/) }],
        });
      }
      const push = await host.api('POST', '/v1/streams', {
        title: 'to the inside',
        output: { rtmpUrl: 'rtmp://localhost:1935/app/key' },
      });
      expect(push.status).toBe(400);
    });

    it('refuses a port the host pattern does not allow', async () => {
      expect((await refusedInput(`http://127.0.0.3:${redirecting + 1}/x.m3u8`)).status).toBe(400);
      expect((await refusedInput(`http://127.0.0.3:${redirecting}/x.m3u8`)).status).toBe(202);
    });

    it('does not follow a redirect to another port of an allowed host', async () => {
      const host = await rooms.person('host', ['host']);
      const stream = await rooms.stream(host, [`http://127.0.0.3:${redirecting}/cam.m3u8`]);
      expect((await host.api('POST', `/v1/streams/${stream.id}/start`)).status).toBe(202);
      await rooms.statusReaches(host, stream.id, 'failed');
      expect(mediaHits).toContain('redirector /cam.m3u8');
      expect(mediaHits.filter((hit) => hit.startsWith('elsewhere'))).toEqual([]);
      expect(stack.functions.output.join('')).toMatch(/refused ffmpeg a connection to an endpoint/);
    });

    it('verifies TLS: a self-signed https input is never asked for anything', async () => {
      const host = await rooms.person('host', ['host']);
      const stream = await rooms.stream(host, [`https://127.0.0.2:${selfSigned}/cam.m3u8`]);
      expect((await host.api('POST', `/v1/streams/${stream.id}/start`)).status).toBe(202);
      await rooms.statusReaches(host, stream.id, 'failed');
      expect(mediaHits.filter((hit) => hit.startsWith('tls'))).toEqual([]);
    });
  });
});

function listenOn<T extends Server>(server: T, address: string): Promise<T> {
  return new Promise((resolve) => server.listen(0, address, () => resolve(server)));
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

/** A certificate no CA signed, made with openssl for `host`. */
function selfSignedCertificate(host: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-tls-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=IP:${host}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}
