import { BadRequestError, MeshClient, MeshHttp, UnauthorizedError, type MeshLive } from '@mesh/client';
import type { LocationReport } from '@mesh/contracts';
import { metricValue, startStack, uniqueName, type RunningStack } from '@mesh/harness';
import { SignJWT } from 'jose';
import { request } from 'node:http';
import type { Socket } from 'socket.io-client';

/** Bad input gets the API.md status with a problem+json body, and nothing reaches Kafka or Redis. */
describe('bad input (real stack)', () => {
  let stack: RunningStack;
  let courierId: string;
  let courier: string;

  beforeAll(async () => {
    stack = await startStack();
    courierId = uniqueName('courier');
    courier = await stack.token(courierId, ['courier']);
  });
  afterAll(() => stack?.stop());

  const published = async () =>
    metricValue(await (await fetch(`${stack.baseUrl}/metrics`)).text(), 'mesh_events_published_total');

  /** One exchange through the client's transport, its body sent as written, answered whatever its status. */
  async function send(path: string, init: { method?: string; token?: string; body?: string; contentType?: string }) {
    const res = await new MeshHttp({ baseUrl: stack.baseUrl, token: init.token }).send<Record<string, unknown>>({
      method: init.method ?? 'PUT',
      path,
      ...(init.body !== undefined
        ? { body: { data: init.body, contentType: init.contentType ?? 'application/json' } }
        : {}),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: res.body };
  }

  /** A live connection for `token` (none: without one); rejects with `UnauthorizedError` when the handshake is refused. */
  const connect = (token?: string) =>
    new MeshClient({ baseUrl: stack.baseUrl, token, retry: { attempts: 0 } })
      .live({ transports: ['websocket'], reconnection: false })
      .connect();

  function expectProblem(res: Awaited<ReturnType<typeof send>>, status: number, errorPath?: string) {
    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status,
      type: expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
    });
    if (errorPath)
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: errorPath })]));
  }

  const forged = (claims: { aud?: string; expSecondsFromNow?: number }) =>
    new SignJWT({ roles: ['courier'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(courierId)
      .setIssuer(stack.env.JWT_ISSUER ?? 'dispatch-mesh')
      .setAudience(claims.aud ?? 'dispatch-mesh-api')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expSecondsFromNow ?? 600))
      .sign(new TextEncoder().encode(stack.env.JWT_SECRET));

  it('rejects every bad location update with the right problem, and publishes nothing', async () => {
    const before = await published();
    const location = '/v1/couriers/me/location';
    const good = JSON.stringify({ lat: 1, lng: 2 });

    expectProblem(await send(location, { token: courier, body: '{"lat": 1, "lng":' }), 400, 'body');
    expectProblem(await send(location, { token: courier, body: JSON.stringify({ lat: 91, lng: 2 }) }), 400, 'body.lat');
    expectProblem(
      await send(location, { token: courier, body: JSON.stringify({ lat: 1, lng: -181 }) }),
      400,
      'body.lng',
    );
    expectProblem(
      await send(location, { token: courier, body: JSON.stringify({ lat: 1, lng: 2, altitude: 3 }) }),
      400,
      'body.altitude',
    );
    expectProblem(
      await send(location, { token: courier, body: JSON.stringify({ lat: '1', lng: 2 }) }),
      400,
      'body.lat',
    );
    expectProblem(
      await send(location, {
        token: courier,
        body: JSON.stringify({ lat: 1, lng: 2, at: new Date(Date.now() + 3_600_000).toISOString() }),
      }),
      400,
      'body.at',
    );
    expectProblem(
      await send(location, { token: courier, body: JSON.stringify({ lat: 1, lng: 2, pad: 'x'.repeat(70_000) }) }),
      413,
    );
    expectProblem(await send(location, { token: courier, body: good, contentType: 'text/plain' }), 415);

    expectProblem(await send(location, { body: good }), 401);
    expectProblem(await send(location, { token: 'not-a-jwt', body: good }), 401);
    expectProblem(await send(location, { token: await forged({ expSecondsFromNow: -120 }), body: good }), 401);
    expectProblem(await send(location, { token: await forged({ aud: 'another-api' }), body: good }), 401);
    const [, payload] = (await forged({})).split('.');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expectProblem(await send(location, { token: none, body: good }), 401);

    const customer = await stack.token(uniqueName('customer'), ['customer']);
    expectProblem(await send(location, { token: customer, body: good }), 403);
    expectProblem(
      await send('/v1/couriers/me/availability', { token: customer, body: JSON.stringify({ available: true }) }),
      403,
    );
    expectProblem(await send('/v1/couriers/me', { method: 'GET', token: customer }), 403);

    expect(await published()).toBe(before);
    const me = await new MeshClient({ baseUrl: stack.baseUrl, token: courier }).couriers.me();
    expect(me).toEqual({ id: courierId, status: 'offline', location: null, activeOrderId: null });
  });

  it('guards nearby search: dispatchers only, radius and coordinates in range', async () => {
    const dispatcher = await stack.token(uniqueName('dispatcher'), ['dispatcher']);
    expectProblem(await send('/v1/couriers/nearby?lat=1&lng=2', { method: 'GET', token: courier }), 403);
    expectProblem(
      await send('/v1/couriers/nearby?lat=1&lng=2&radiusM=50001', { method: 'GET', token: dispatcher }),
      400,
      'query.radiusM',
    );
    expectProblem(
      await send('/v1/couriers/nearby?lat=-95&lng=2', { method: 'GET', token: dispatcher }),
      400,
      'query.lat',
    );
    expectProblem(await send('/v1/couriers/nearby?lng=2', { method: 'GET', token: dispatcher }), 400, 'query.lat');
    expectProblem(
      await send('/v1/couriers/nearby?lat=1&lng=2&shape=circle', { method: 'GET', token: dispatcher }),
      400,
      'query.shape',
    );
  });

  it('has no development token route outside the embedded default, and answers unknown routes with a problem', async () => {
    expectProblem(
      await send('/v1/dev/tokens', { method: 'POST', body: JSON.stringify({ sub: 'x', roles: ['dispatcher'] }) }),
      404,
    );
    expectProblem(await send('/v1/nothing-here', { method: 'GET', token: courier }), 404);
  });

  it('answers a method a route does not serve with 405 and the methods it does (TRACE included), an unknown path still 404', async () => {
    /** Over node:http: fetch, the client's transport, refuses to send TRACE. */
    const trace = await new Promise<{ status: number; allow: string | undefined; type: string; body: unknown }>(
      (resolve, reject) => {
        const req = request(`${stack.baseUrl}/v1/orders`, {
          method: 'TRACE',
          headers: { authorization: `Bearer ${courier}` },
        });
        req.once('error', reject);
        req.once('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.once('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              allow: res.headers.allow,
              type: res.headers['content-type'] ?? '',
              body: JSON.parse(text),
            }),
          );
        });
        req.end();
      },
    );
    expect(trace).toMatchObject({
      status: 405,
      allow: 'GET, HEAD, POST',
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(trace.body).toMatchObject({ type: '/problems/method-not-allowed', status: 405 });
    const http = new MeshHttp({ baseUrl: stack.baseUrl, token: courier });
    const patch = await http.send({ method: 'PATCH', path: `/v1/orders/${uniqueName('order')}` });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')?.split(', ')).toContain('GET');
    const unknown = await http.send({ method: 'DELETE', path: '/v1/nothing-here' });
    expect({ status: unknown.status, allow: unknown.headers.get('allow') }).toEqual({ status: 404, allow: null });
  });

  it('refuses a socket handshake without a valid token, and socket events from the wrong role or with bad payloads', async () => {
    const before = await published();
    for (const token of [undefined, 'garbage', await forged({ expSecondsFromNow: -120 })]) {
      // `connect` closes a refused connection itself.
      await expect(connect(token)).rejects.toBeInstanceOf(UnauthorizedError);
    }

    const lives: MeshLive[] = [];
    try {
      const customer = await connect(await stack.token(uniqueName('customer'), ['customer']));
      lives.push(customer);
      await expect(customer.reportLocation({ lat: 1, lng: 2 })).rejects.toMatchObject({
        status: 403,
        type: expect.any(String),
      });

      const courierLive = await connect(courier);
      lives.push(courierLive);
      const invalid = await courierLive
        .reportLocation({ lat: 100, lng: 2, speed: 3 } as unknown as LocationReport)
        .catch((err: unknown) => err);
      expect(invalid).toBeInstanceOf(BadRequestError);
      expect((invalid as BadRequestError).errors.map((e) => e.path).sort()).toEqual(['body.lat', 'body.speed']);
      expect(await published()).toBe(before);

      // Extra arguments where an acknowledgement callback would go do not break the gateway.
      (courierLive.socket as unknown as Socket).emit('courier.location', { lat: 100, lng: 2 }, 'not-a-callback', 42);
      expect(await courierLive.send('courier.location', { lat: 1, lng: 2 })).toEqual({ ok: true });
      expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      for (const live of lives) live.close();
    }
  });

  it('reports readiness with both dependencies up and the dispatch state built', async () => {
    const res = await fetch(`${stack.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      checks: { kafka: { status: 'up' }, redis: { status: 'up' }, state: { status: 'up' } },
    });
  });
});
