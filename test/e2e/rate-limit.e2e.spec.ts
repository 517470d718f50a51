import { eventually, metricValue, startStack, uniqueName, type RunningStack } from '@mesh/testing';
import { io, type Socket } from 'socket.io-client';

const BUDGET = 4;
const WINDOW_S = 60;
const SOCKETS_PER_USER = 2;

/** Each user's requests, and their socket events, have a budget per window; past it, 429 and nothing changes. */
describe('rate limits (real stack)', () => {
  let stack: RunningStack;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack({
      RATE_LIMIT_REQUESTS: String(BUDGET),
      RATE_LIMIT_WINDOW_S: String(WINDOW_S),
      SOCKETS_PER_USER: String(SOCKETS_PER_USER),
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await stack?.stop();
  });

  const published = async () =>
    metricValue(await (await fetch(`${stack.baseUrl}/metrics`)).text(), 'mesh_events_published_total');

  const call = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  const order = { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.51, lng: 13.39 } };

  it('refuses a user past the budget with a 429 problem and Retry-After, places nothing, and leaves other users and probes alone', async () => {
    const customer = await stack.token(uniqueName('customer'), ['customer']);
    for (let i = 0; i < BUDGET; i++) expect((await call(customer, 'GET', '/v1/orders')).status).toBe(200);

    const before = await published();
    const refused = await call(customer, 'POST', '/v1/orders', order);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
    expect(await refused.json()).toMatchObject({ status: 429, type: expect.any(String), detail: expect.any(String) });
    expect(await published()).toBe(before);

    const neighbour = await stack.token(uniqueName('customer'), ['customer']);
    expect((await call(neighbour, 'POST', '/v1/orders', order)).status).toBe(202);
    for (const probe of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${stack.baseUrl}${probe}`)).status).toBe(200);
    }
  });

  it('charges socket events to the user’s socket budget: past it, the acknowledgement is a 429 problem and nothing is recorded', async () => {
    const courier = await stack.token(uniqueName('courier'), ['courier']);
    const socket = io(stack.baseUrl, { transports: ['websocket'], auth: { token: courier }, reconnection: false });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const report = () => socket.emitWithAck('courier.location', { lat: 52.52, lng: 13.405 }) as Promise<unknown>;

    for (let i = 0; i < BUDGET; i++) expect(await report()).toEqual({ ok: true });
    const before = await published();
    expect(await report()).toMatchObject({ ok: false, error: { status: 429, type: expect.any(String) } });
    expect(await published()).toBe(before);
    // A second socket of the same user draws on the same budget.
    const again = io(stack.baseUrl, { transports: ['websocket'], auth: { token: courier }, reconnection: false });
    sockets.push(again);
    await new Promise<void>((resolve) => again.once('connect', () => resolve()));
    expect(await again.emitWithAck('courier.location', { lat: 52.52, lng: 13.405 })).toMatchObject({
      ok: false,
      error: { status: 429 },
    });
    // HTTP requests are counted apart (across gateways, in Redis).
    expect((await call(courier, 'PUT', '/v1/couriers/me/availability', { available: true })).status).toBe(200);
  });

  it('holds a user to SOCKETS_PER_USER open sockets; closing one makes room for the next', async () => {
    const token = await stack.token(uniqueName('dispatcher'), ['dispatcher']);
    /** The handshake's outcome: connected, or the connect_error's message. */
    const open = () =>
      new Promise<{ socket: Socket; outcome: string }>((resolve) => {
        const socket = io(stack.baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
        sockets.push(socket);
        socket.once('connect', () => resolve({ socket, outcome: 'connected' }));
        socket.once('connect_error', (err) => resolve({ socket, outcome: err.message }));
      });

    const first = await open();
    const second = await open();
    expect([first.outcome, second.outcome]).toEqual(['connected', 'connected']);
    expect((await open()).outcome).toBe('too many connections');
    // Another user is not affected.
    const neighbour = io(stack.baseUrl, {
      transports: ['websocket'],
      auth: { token: await stack.token(uniqueName('dispatcher'), ['dispatcher']) },
      reconnection: false,
    });
    sockets.push(neighbour);
    await new Promise<void>((resolve) => neighbour.once('connect', () => resolve()));

    first.socket.disconnect();
    await eventually(async () => expect((await open()).outcome).toBe('connected'));
  });
});
