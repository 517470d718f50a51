import {
  ConflictError,
  MeshApiError,
  MeshConnectionError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
} from './errors';
import { MeshHttp } from './http';
import { MeshClient, attachmentName } from './mesh-client';

/** A gateway in a function: each request is recorded, each answer is the next one given. */
function gateway(...answers: (Response | Error)[]) {
  const requests: { url: string; method: string; headers: Record<string, string>; body: unknown }[] = [];
  const fetch = ((url: string, init: RequestInit) => {
    requests.push({
      url,
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
    });
    const next = answers.shift();
    if (!next) return Promise.reject(new Error('no answer left'));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }) as unknown as typeof globalThis.fetch;
  return { fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const problem = (status: number, detail: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: 'about:blank', title: 'Problem', status, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': 'req-1', ...headers },
  });
const noRetryDelay = { baseDelayMs: 1, maxDelayMs: 1 };

describe('MeshHttp', () => {
  it('sends the bearer token and JSON, and resolves with the parsed view', async () => {
    const gw = gateway(json(202, { id: 'o1', status: 'pending' }));
    const client = new MeshClient({ baseUrl: 'http://gw/', token: 'T', fetch: gw.fetch, retry: { attempts: 0 } });

    const order = await client.orders.place({ pickup: { lat: 1, lng: 2 }, dropoff: { lat: 3, lng: 4 } });

    expect(order).toEqual({ id: 'o1', status: 'pending' });
    expect(gw.requests[0]).toMatchObject({
      url: 'http://gw/v1/orders',
      method: 'POST',
      headers: { authorization: 'Bearer T', 'content-type': 'application/json' },
      body: { pickup: { lat: 1, lng: 2 }, dropoff: { lat: 3, lng: 4 } },
    });
    expect(Object.keys(gw.requests[0]!.headers)).not.toContain('idempotency-key');
  });

  it('throws a problem as its typed error, with its detail, request id and fields', async () => {
    const gw = gateway(problem(404, 'no such order'), problem(409, 'the offer expired'));
    const client = new MeshClient({ baseUrl: 'http://gw', token: 'T', fetch: gw.fetch });

    const missing = await client.orders.get('o/1').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toBeInstanceOf(MeshApiError);
    expect(missing).toMatchObject({ status: 404, detail: 'no such order', requestId: 'req-1' });
    expect(gw.requests[0]!.url).toBe('http://gw/v1/orders/o%2F1');
    await expect(client.offers.accept('x')).rejects.toBeInstanceOf(ConflictError);
  });

  it('asks the token source for a fresh token once when the gateway refuses one, and goes on with it', async () => {
    const gw = gateway(problem(401, 'expired'), json(200, { id: 'c1' }), json(200, { id: 'c1' }));
    const asked: boolean[] = [];
    const client = new MeshClient({
      baseUrl: 'http://gw',
      fetch: gw.fetch,
      token: ({ refresh }) => {
        asked.push(refresh);
        return refresh ? 'fresh' : 'stale';
      },
    });

    await client.couriers.me();
    await client.couriers.me();

    expect(asked).toEqual([false, true]);
    expect(gw.requests.map((r) => r.headers.authorization)).toEqual(['Bearer stale', 'Bearer fresh', 'Bearer fresh']);
  });

  it('gives up with UnauthorizedError when the fresh token is refused too, or the token cannot be refreshed', async () => {
    const refreshing = new MeshClient({
      baseUrl: 'http://gw',
      fetch: gateway(problem(401, 'expired'), problem(401, 'still expired')).fetch,
      token: () => 'T',
    });
    await expect(refreshing.couriers.me()).rejects.toBeInstanceOf(UnauthorizedError);

    const fixed = gateway(problem(401, 'expired'));
    await expect(
      new MeshClient({ baseUrl: 'http://gw', fetch: fixed.fetch, token: 'T' }).couriers.me(),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    expect(fixed.requests).toHaveLength(1);
  });

  it('sends an order again under the same idempotency key after a 503 or a lost connection', async () => {
    const gw = gateway(problem(503, 'kafka is down'), new TypeError('fetch failed'), json(202, { id: 'o1' }));
    const client = new MeshClient({ baseUrl: 'http://gw', token: 'T', fetch: gw.fetch, retry: noRetryDelay });

    await expect(client.orders.place({ pickup: { lat: 1, lng: 2 }, dropoff: { lat: 3, lng: 4 } })).resolves.toEqual({
      id: 'o1',
    });

    const keys = gw.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(keys).size).toBe(1);
  });

  it('never sends twice what is not idempotent, and stops after its attempts', async () => {
    const once = gateway(problem(503, 'down'));
    const client = new MeshClient({ baseUrl: 'http://gw', token: 'T', fetch: once.fetch, retry: noRetryDelay });
    await expect(client.offers.accept('f1')).rejects.toMatchObject({ status: 503 });
    expect(once.requests).toHaveLength(1);

    const down = gateway(new TypeError('refused'), new TypeError('refused'), new TypeError('refused'));
    const reads = new MeshClient({ baseUrl: 'http://gw', token: 'T', fetch: down.fetch, retry: noRetryDelay });
    await expect(reads.orders.get('o1')).rejects.toBeInstanceOf(MeshConnectionError);
    expect(down.requests).toHaveLength(3);
  });

  it("waits what a 429's Retry-After asks before sending again, and reports it when out of attempts", async () => {
    const gw = gateway(problem(429, 'slow down', { 'retry-after': '1' }), json(200, { items: [] }));
    const client = new MeshClient({ baseUrl: 'http://gw', token: 'T', fetch: gw.fetch, retry: noRetryDelay });
    const started = Date.now();
    await client.streams.list();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    const limited = new MeshClient({
      baseUrl: 'http://gw',
      token: 'T',
      fetch: gateway(problem(429, 'slow down', { 'retry-after': '7' })).fetch,
      retry: { attempts: 0 },
    });
    await expect(limited.streams.list()).rejects.toEqual(expect.objectContaining({ retryAfterS: 7 }));
    await expect(
      new MeshClient({
        baseUrl: 'http://gw',
        token: 'T',
        fetch: gateway(problem(429, 'slow down')).fetch,
        retry: { attempts: 0 },
      }).streams.list(),
    ).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('answers send() with any status as it came, without refreshing or retrying', async () => {
    const gw = gateway(problem(401, 'no'));
    const http = new MeshHttp({ baseUrl: 'http://gw', fetch: gw.fetch, token: () => 'T' });
    const res = await http.send({ method: 'GET', path: '/v1/orders', query: { limit: 5, cursor: undefined } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ detail: 'no' });
    expect(gw.requests).toHaveLength(1);
    expect(gw.requests[0]!.url).toBe('http://gw/v1/orders?limit=5');
  });

  it('reads a CSV report as text, with the file name the gateway gave it', async () => {
    const csv = new Response('key,placed\n2026-12-05T10:00:00.000Z,3\n', {
      status: 200,
      headers: { 'content-type': 'text/csv', 'content-disposition': 'attachment; filename="dispatch-hour.csv"' },
    });
    const gw = gateway(csv);
    const client = new MeshClient({ baseUrl: 'http://gw', token: 'T', fetch: gw.fetch });
    const report = await client.admin.dispatchReportCsv({
      from: new Date('2026-12-05T10:00:00Z'),
      to: '2026-12-05T12:00:00Z',
    });
    expect(report).toEqual({ csv: 'key,placed\n2026-12-05T10:00:00.000Z,3\n', filename: 'dispatch-hour.csv' });
    expect(new URL(gw.requests[0]!.url).searchParams.get('from')).toBe('2026-12-05T10:00:00.000Z');
  });

  it('saves the CSV under the name the gateway gave it, never a path', () => {
    expect(attachmentName('attachment; filename="dispatch-hour-2026-11-22T12.csv"')).toBe(
      'dispatch-hour-2026-11-22T12.csv',
    );
    expect(attachmentName("attachment; filename*=UTF-8''a%2Fb.csv")).toBe('a_b.csv');
    expect(attachmentName('attachment; filename=..\\x.csv')).toBe('.._x.csv');
    expect(attachmentName(null)).toBeNull();
  });
});
