import {
  BadRequestError,
  ForbiddenError,
  MeshApiError,
  MeshClient,
  MeshHttp,
  NotFoundError,
  UnauthorizedError,
} from '@mesh/client';
import type { StreamView } from '@mesh/contracts';
import { MIX_FAILED } from '@mesh/streams';
import {
  eventually,
  freePort,
  mixProcesses,
  playlistSegments,
  startProcess,
  startStack,
  type RunningStack,
} from '@mesh/harness';
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

  /** A client holding `token`, of no person of the rooms; no retries, so each answer is seen as it came. */
  const clientWith = (token: string) => new MeshClient({ baseUrl: stack.baseUrl, token, retry: { attempts: 0 } });

  describe('1. nobody watches a live room without a playback URL, and no public place names it', () => {
    let live: StreamView;
    beforeAll(async () => {
      live = await rooms.goLive(host, (await rooms.stream(host, ['test:pattern'])).id);
    });
    afterAll(async () => {
      await host.client.streams.stop(live.id);
      await noMixProcesses(live.id);
    });

    it('plays only with a signed URL, segments included, and 404s a guessed, forged or borrowed one', async () => {
      const grant = await host.client.streams.playback(live.id, { ttlS: 600 });
      const expiresInS = (Date.parse(grant.expiresAt) - Date.now()) / 1000;
      expect(expiresInS).toBeGreaterThan(590);
      expect(expiresInS).toBeLessThanOrEqual(600);
      // A player follows the playlist's relative segment URIs: they carry the token.
      const playlistUrl = new URL(grant.url, stack.baseUrl);
      const segment = await eventually(
        async () => {
          const names = playlistSegments(await (await fetch(playlistUrl)).text());
          if (names.length === 0) throw new Error('no segment yet');
          return new URL(names[0] as string, playlistUrl);
        },
        { intervalMs: 300 },
      );
      expect((await fetch(segment)).status).toBe(200);

      const token = grant.url.split('/')[3] as string;
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
      const seen = await dispatcher.client.streams.get(live.id);
      expect((await fetch(new URL(seen.output.hlsUrl ?? '', stack.baseUrl))).status).toBe(200);
      await expect(stranger.client.streams.playback(live.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(dispatcher.client.streams.playback(live.id)).rejects.toBeInstanceOf(ForbiddenError);
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
      const grant = await host.client.streams.playback(live.id);
      const token = grant.url.split('/')[3] as string;
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
        await customer.client.streams.get('nope').catch((err: unknown) => err),
        await clientWith(refused)
          .orders.list()
          .catch((err: unknown) => err),
      ] as MeshApiError[];
      expect(asked).toMatchObject([
        { status: 404, requestId: expect.any(String) },
        { status: 401, requestId: expect.any(String) },
      ]);
      // 4xx are logged at warn, with their request ids; the headers' credentials are redacted.
      await eventually(() => {
        for (const { requestId } of asked) expect(stack.gateway.output.join('')).toContain(requestId!);
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
      await host.client.streams.setParticipant(stream.id, guest.id, { inputUrl: 'test:pattern' });
      for (const who of [guest, dispatcher]) await who.live.watchStream(stream.id);
      const layout = await host.client.streams.setLayout(stream.id, { layout: 'speaker' });
      await guest.inbox.next('stream.updated', (s) => s.id === stream.id && s.revision === layout.revision);

      const removed = await host.client.streams.removeParticipant(stream.id, guest.id);
      const after = await host.client.streams.setLayout(stream.id, { layout: 'grid' });
      // The dispatcher still watching hears the change; by then the removed guest would have too. (The
      // update that removes the guest may still reach them: it is news to them too.)
      await dispatcher.inbox.next('stream.updated', (s) => s.id === stream.id && s.revision === after.revision);
      expect(
        guest.inbox.all('stream.updated').filter((s) => s.id === stream.id && s.revision > removed.revision),
      ).toEqual([]);
      await guest.live.unwatchStream(stream.id);
      // And cannot come back in.
      await expect(guest.live.watchStream(stream.id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('closes a socket when the token it was opened with expires', async () => {
      const token = await stack.token(`short-${Date.now()}`, ['customer'], 2);
      const live = await clientWith(token)
        .live({ transports: ['websocket'], reconnection: false })
        .connect();
      try {
        const reason = await new Promise<string>((resolve) => live.socket.once('disconnect', resolve));
        expect(reason).toBe('io server disconnect');
      } finally {
        live.close();
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
      // Not through the client: its transport (fetch) cannot pick the address it calls from.
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
        await host.client.streams.start(stream.id);
      }
      await expect(host.client.streams.start(streams[3]!.id)).rejects.toMatchObject({
        status: 409,
        detail: expect.stringMatching(/3 live rooms/),
      });
      expect((await host.client.streams.get(streams[3]!.id)).status).toBe('idle');
      await host.client.streams.stop(streams[0]!.id);
      await host.client.streams.start(streams[3]!.id);
      await Promise.all(streams.map((s) => host.client.streams.stop(s.id)));
    });

    it('restarts a room’s ffmpeg at most MIX_RESTARTS_PER_MIN (4) times a minute, however fast it is changed', async () => {
      const host = await rooms.person('host', ['host']);
      const live = await rooms.goLive(host, (await rooms.stream(host, ['test:pattern', 'test:color=red'])).id);
      const seen = new Set(mixProcesses(live.id));
      const watching = setInterval(() => mixProcesses(live.id).forEach((pid) => seen.add(pid)), 50);
      try {
        // A co-host joining and leaving, over and over: each a new set of inputs, so a new ffmpeg (a layout
        // change would go into the running one and restart nothing).
        for (let i = 0; i < 8; i++) {
          if (i % 2 === 0)
            await host.client.streams.setParticipant(live.id, 'flapping', { inputUrl: 'test:color=blue' });
          else await host.client.streams.removeParticipant(live.id, 'flapping');
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
      await host.client.streams.stop(live.id);
      await noMixProcesses(live.id);
    });
  });

  describe('6. the smaller findings', () => {
    it('refuses the same Idempotency-Key with a different body (422), placing nothing', async () => {
      const customer = await rooms.person('customer', ['customer']);
      const place = (lat: number) =>
        customer.client.orders.place(
          { pickup: { lat, lng: 2.35 }, dropoff: { lat: 48.86, lng: 2.36 } },
          { idempotencyKey: 'same-key' },
        );
      const placed = await place(48.85);
      await expect(place(48.851)).rejects.toMatchObject({
        status: 422,
        detail: expect.stringMatching(/Idempotency-Key/),
      });
      expect((await place(48.85)).id).toBe(placed.id); // the same body is still a retry
      const mine = await customer.client.orders.list({ limit: 10 });
      expect(mine.items).toHaveLength(1);
    });

    it('names the scheme on a 401 (WWW-Authenticate), and says a refused token was invalid', async () => {
      // Raw exchanges: the header is the subject, and the typed error does not carry it.
      const none = await new MeshHttp({ baseUrl: stack.baseUrl }).send({ method: 'GET', path: '/v1/orders' });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="dispatch-mesh"');
      const bad = await new MeshHttp({ baseUrl: stack.baseUrl, token: 'nope' }).send({
        method: 'GET',
        path: '/v1/orders',
      });
      expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="dispatch-mesh", error="invalid_token"');
    });

    it('sends security headers on the API and on /docs', async () => {
      const answers: [string, Headers][] = [
        [
          '/v1/orders',
          (await new MeshHttp({ baseUrl: stack.baseUrl }).send({ method: 'GET', path: '/v1/orders' })).headers,
        ],
        // Pages a browser loads, not API calls.
        ['/docs/', (await fetch(`${stack.baseUrl}/docs/`)).headers],
        ['/dashboard', (await fetch(`${stack.baseUrl}/dashboard`)).headers],
      ];
      for (const [path, headers] of answers) {
        expect({ path, nosniff: headers.get('x-content-type-options') }).toEqual({ path, nosniff: 'nosniff' });
        expect(headers.get('content-security-policy')).toMatch(/default-src '(self|none)'/);
        expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(headers.get('strict-transport-security')).toMatch(/max-age=/);
      }
    });

    it('opens sockets only from the gateway’s own origin, CORS_ORIGINS, or apps that send none', async () => {
      // Over socket.io-client: the client's live connection cannot send an Origin header (nor from another address).
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
      await host.client.streams.start(stream.id);
      const failed = await rooms.statusReaches(host, stream.id, 'failed');
      expect(failed.error).toMatch(/input of guest-0 failed/);
      const seen = await dispatcher.client.streams.get(stream.id);
      expect(seen.error).toBe(MIX_FAILED);
      expect(JSON.stringify(seen)).not.toContain('/live/key-');
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
        await expect(clientWith(token).orders.list()).rejects.toBeInstanceOf(UnauthorizedError);
      }
      await clientWith(await sign(now, now + 600)).orders.list();
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
    /** Sets `inputUrl` as a participant's input in a new room: the refusal, or null when it is taken. */
    const refusal = async (inputUrl: string) => {
      const stream = await rooms.stream(host, []);
      return host.client.streams.setParticipant(stream.id, 'guest', { inputUrl: inputUrl }).then(
        () => null,
        (err: unknown) => err,
      );
    };

    it('refuses libsrt options in the query unless MIX_SRT_OPTIONS lists them, and mode always', async () => {
      const mode = await refusal('srt://127.0.0.2:19370?mode=listener');
      expect(mode).toBeInstanceOf(BadRequestError);
      expect(mode).toMatchObject({ errors: [{ message: expect.stringMatching(/srt option mode/) }] });
      expect(await refusal('srt://127.0.0.2:19370?passphrase=x')).toBeInstanceOf(BadRequestError);
      expect(await refusal('srt://127.0.0.2:19370?streamid=cam1')).toBeNull();
    });

    it('refuses an allowed name that resolves to a loopback address, for every protocol, output included', async () => {
      for (const url of ['rtmp://localhost/live/key', 'srt://localhost:9000', 'http://localhost:8080/x.m3u8']) {
        expect({ url, refusal: await refusal(url) }).toMatchObject({
          url,
          refusal: {
            status: 400,
            errors: [{ message: expect.stringMatching(/resolves to a loopback, private or link-local address/) }],
          },
        });
      }
      await expect(
        host.client.streams.create({ title: 'to the inside', output: { rtmpUrl: 'rtmp://localhost:1935/app/key' } }),
      ).rejects.toBeInstanceOf(BadRequestError);
    });

    it('refuses a port the host pattern does not allow', async () => {
      expect(await refusal(`http://127.0.0.3:${redirecting + 1}/x.m3u8`)).toBeInstanceOf(BadRequestError);
      expect(await refusal(`http://127.0.0.3:${redirecting}/x.m3u8`)).toBeNull();
    });

    it('does not follow a redirect to another port of an allowed host', async () => {
      const host = await rooms.person('host', ['host']);
      const stream = await rooms.stream(host, [`http://127.0.0.3:${redirecting}/cam.m3u8`]);
      await host.client.streams.start(stream.id);
      await rooms.statusReaches(host, stream.id, 'failed');
      expect(mediaHits).toContain('redirector /cam.m3u8');
      expect(mediaHits.filter((hit) => hit.startsWith('elsewhere'))).toEqual([]);
      expect(stack.functions.output.join('')).toMatch(/refused ffmpeg a connection to an endpoint/);
    });

    it('verifies TLS: a self-signed https input is never asked for anything', async () => {
      const host = await rooms.person('host', ['host']);
      const stream = await rooms.stream(host, [`https://127.0.0.2:${selfSigned}/cam.m3u8`]);
      await host.client.streams.start(stream.id);
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
