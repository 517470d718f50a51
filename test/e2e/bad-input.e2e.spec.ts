import { metricValue, startStack, uniqueName, type RunningStack } from '@mesh/testing';
import { SignJWT } from 'jose';
import { request } from 'node:http';
import { io } from 'socket.io-client';

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

  async function send(path: string, init: { method?: string; token?: string; body?: string; contentType?: string }) {
    const headers: Record<string, string> = {};
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method: init.method ?? 'PUT',
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: (await res.json()) as Record<string, unknown>,
    };
  }

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
    const me = await send('/v1/couriers/me', { method: 'GET', token: courier });
    expect(me.body).toEqual({ id: courierId, status: 'offline', location: null, activeOrderId: null });
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
    /** Over node:http: fetch itself refuses to send TRACE. */
    const raw = (method: string, path: string) =>
      new Promise<{ status: number; allow: string | undefined; type: string; body: Record<string, unknown> }>(
        (resolve, reject) => {
          const req = request(`${stack.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${courier}` } });
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
                body: JSON.parse(text) as Record<string, unknown>,
              }),
            );
          });
          req.end();
        },
      );
    const trace = await raw('TRACE', '/v1/orders');
    expect(trace).toMatchObject({
      status: 405,
      allow: 'GET, HEAD, POST',
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(trace.body).toMatchObject({ type: '/problems/method-not-allowed', status: 405 });
    const patch = await raw('PATCH', `/v1/orders/${uniqueName('order')}`);
    expect(patch.status).toBe(405);
    expect(patch.allow?.split(', ')).toContain('GET');
    expect(await raw('DELETE', '/v1/nothing-here')).toMatchObject({ status: 404, allow: undefined });
  });

  it('refuses a socket handshake without a valid token, and socket events from the wrong role or with bad payloads', async () => {
    const before = await published();
    for (const auth of [{}, { token: 'garbage' }, { token: await forged({ expSecondsFromNow: -120 }) }]) {
      const socket = io(stack.baseUrl, { transports: ['websocket'], auth, reconnection: false });
      const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
      expect(error.message).toBe('unauthorized');
      socket.disconnect();
    }

    const customer = io(stack.baseUrl, {
      transports: ['websocket'],
      auth: { token: await stack.token(uniqueName('customer'), ['customer']) },
      reconnection: false,
    });
    await new Promise<void>((resolve) => customer.once('connect', () => resolve()));
    const forbidden = (await customer.emitWithAck('courier.location', { lat: 1, lng: 2 })) as {
      ok: boolean;
      error: { status: number };
    };
    expect(forbidden).toMatchObject({ ok: false, error: { status: 403, type: expect.any(String) } });
    customer.disconnect();

    const courierSocket = io(stack.baseUrl, {
      transports: ['websocket'],
      auth: { token: courier },
      reconnection: false,
    });
    await new Promise<void>((resolve) => courierSocket.once('connect', () => resolve()));
    const invalid = (await courierSocket.emitWithAck('courier.location', { lat: 100, lng: 2, speed: 3 })) as {
      ok: boolean;
      error: { status: number; errors: { path: string }[] };
    };
    expect(invalid.ok).toBe(false);
    expect(invalid.error.status).toBe(400);
    expect(invalid.error.errors.map((e) => e.path).sort()).toEqual(['body.lat', 'body.speed']);
    expect(await published()).toBe(before);

    // Extra arguments where an acknowledgement callback would go do not break the gateway.
    courierSocket.emit('courier.location', { lat: 100, lng: 2 }, 'not-a-callback', 42);
    const after = (await courierSocket.emitWithAck('courier.location', { lat: 1, lng: 2 })) as { ok: boolean };
    expect(after).toEqual({ ok: true });
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    courierSocket.disconnect();
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
