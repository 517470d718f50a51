import { MeshClient, RateLimitedError, type MeshLive } from '@mesh/client';
import { eventually, metricValue, startStack, uniqueName, type RunningStack } from '@mesh/harness';

const BUDGET = 4;
const WINDOW_S = 60;
const SOCKETS_PER_USER = 2;

/** Each user's requests, and their socket events, have a budget per window; past it, 429 and nothing changes. */
describe('rate limits (real stack)', () => {
  let stack: RunningStack;
  const lives: MeshLive[] = [];

  beforeAll(async () => {
    stack = await startStack({
      RATE_LIMIT_REQUESTS: String(BUDGET),
      RATE_LIMIT_WINDOW_S: String(WINDOW_S),
      SOCKETS_PER_USER: String(SOCKETS_PER_USER),
    });
  });
  afterAll(async () => {
    for (const live of lives) live.close();
    await stack?.stop();
  });

  const published = async () =>
    metricValue(await (await fetch(`${stack.baseUrl}/metrics`)).text(), 'mesh_events_published_total');

  /** A user's client that never retries: each call is charged once, and a 429 is seen as it came. */
  const clientOf = async (prefix: string, roles: ('customer' | 'courier' | 'dispatcher')[]) =>
    new MeshClient({
      baseUrl: stack.baseUrl,
      token: await stack.token(uniqueName(prefix), roles),
      retry: { attempts: 0 },
    });

  /** A live connection of the client, not yet connected, closed after the suite. */
  const liveOf = (client: MeshClient) => {
    const live = client.live({ transports: ['websocket'], reconnection: false });
    lives.push(live);
    return live;
  };

  const order = { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.51, lng: 13.39 } };
  const here = { lat: 52.52, lng: 13.405 };

  it('refuses a user past the budget with a 429 problem and Retry-After, places nothing, and leaves other users and probes alone', async () => {
    const customer = await clientOf('customer', ['customer']);
    for (let i = 0; i < BUDGET; i++) await customer.orders.list();

    const before = await published();
    // Raw, to see the refusal's headers as sent (the typed call throws it as a RateLimitedError).
    const refused = await customer.http.send({ method: 'POST', path: '/v1/orders', json: order });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
    expect(refused.body).toMatchObject({ status: 429, type: expect.any(String), detail: expect.any(String) });
    expect(await published()).toBe(before);

    const neighbour = await clientOf('customer', ['customer']);
    expect((await neighbour.orders.place(order)).status).toBe('pending');
    for (const probe of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${stack.baseUrl}${probe}`)).status).toBe(200);
    }
  });

  it('charges socket events to the user’s socket budget: past it, the acknowledgement is a 429 problem and nothing is recorded', async () => {
    const courier = await clientOf('courier', ['courier']);
    const live = await liveOf(courier).connect();

    for (let i = 0; i < BUDGET; i++) await live.reportLocation(here);
    const before = await published();
    await expect(live.reportLocation(here)).rejects.toMatchObject({ status: 429, type: expect.any(String) });
    expect(await published()).toBe(before);
    // A second socket of the same user draws on the same budget.
    const again = await liveOf(courier).connect();
    await expect(again.reportLocation(here)).rejects.toBeInstanceOf(RateLimitedError);
    // HTTP requests are counted apart (across gateways, in Redis).
    await courier.couriers.setAvailability(true);
  });

  it('holds a user to SOCKETS_PER_USER open sockets; closing one makes room for the next', async () => {
    const dispatcher = await clientOf('dispatcher', ['dispatcher']);
    /** The handshake's outcome: connected, or the gateway's reason for refusing it. */
    const open = () => {
      const live = liveOf(dispatcher);
      return live.connect().then(
        () => ({ live, outcome: 'connected' }),
        (err: Error) => ({ live, outcome: err instanceof RateLimitedError ? 'too many connections' : err.message }),
      );
    };

    const first = await open();
    const second = await open();
    expect([first.outcome, second.outcome]).toEqual(['connected', 'connected']);
    expect((await open()).outcome).toBe('too many connections');
    // Another user is not affected.
    await liveOf(await clientOf('dispatcher', ['dispatcher'])).connect();

    first.live.close();
    await eventually(async () => expect((await open()).outcome).toBe('connected'));
  });
});
