import { ForbiddenError, MeshClient, UnauthorizedError, type Span } from '@mesh/client';
import {
  DISPATCH_REPORT_COLUMNS,
  functionGroup,
  topicName,
  type ProblemDetails,
  type OrderView,
} from '@mesh/contracts';
import { eventually, startStack, type RunningStack } from '@mesh/harness';
import { Kafka, logLevel } from 'kafkajs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { DispatchWorld, offset, somewhere, type Actor } from './support/dispatch-world';

const ROOT = join(__dirname, '..', '..');
const HOUR = 3_600_000;

/** Seconds from an order's placing to the first time it reached `status`, if it did. */
function secondsTo(order: OrderView, status: OrderView['status']): number | null {
  const at = order.timeline.filter((t) => t.status === status).map((t) => Date.parse(t.at));
  return at.length === 0 ? null : (Math.min(...at) - Date.parse(order.createdAt)) / 1000;
}

/** The nearest-rank percentile of samples, as the report defines it. */
function percentile(samples: number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1] as number;
}

/** A reported latency is its histogram bucket's upper bound: never below the truth, at most 10% (or 10 ms) above. */
function expectWithinResolution(reported: number | null, exact: number | null): void {
  if (exact === null) return expect(reported).toBeNull();
  expect(reported).not.toBeNull();
  expect(reported as number).toBeGreaterThanOrEqual(exact - 0.001);
  expect(reported as number).toBeLessThanOrEqual(Math.max(exact * 1.1, 0.01) + 0.001);
}

/** What the orders themselves say about each hour they were placed in. */
function expectedByHour(orders: OrderView[]) {
  const hours = new Map<string, OrderView[]>();
  for (const o of orders) {
    const key = new Date(Math.floor(Date.parse(o.createdAt) / HOUR) * HOUR).toISOString();
    hours.set(key, [...(hours.get(key) ?? []), o]);
  }
  return [...hours.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, os]) => {
      const samples = (status: OrderView['status']) =>
        os.map((o) => secondsTo(o, status)).filter((s): s is number => s !== null);
      return {
        key,
        placed: os.length,
        delivered: os.filter((o) => o.status === 'delivered').length,
        cancelled: os.filter((o) => o.status === 'cancelled').length,
        unassigned: os.filter((o) => o.timeline.some((t) => t.status === 'unassigned')).length,
        dispatch: samples('assigned'),
        toPickup: samples('picked_up'),
        toDelivery: samples('delivered'),
      };
    });
}

/**
 * The route log and its reports on the real stack: a lunch replayed by k6 at 10x for a
 * minute is archived (PostgreSQL) by the archive function, and the dispatch report of
 * its hours says what the orders themselves say; a courier's trail is the positions it
 * sent while on its order; replaying the archive over the same Kafka offsets changes nothing.
 */
describe('reports from the route log (real Kafka, Redis, PostgreSQL)', () => {
  let stack: RunningStack;
  let dispatcher: Actor;
  let world: DispatchWorld;
  let db: Client;
  const startedAt = Date.now();

  beforeAll(async () => {
    // Offers to couriers who went home without signing off expire in 3 s, so every order settles soon after the lunch.
    stack = await startStack({ LOG_LEVEL: 'error', OFFER_TTL_S: '3' });
    world = new DispatchWorld(stack);
    dispatcher = await world.actor('dispatcher', ['dispatcher']);
    db = new Client({
      connectionString: String(stack.env.DATABASE_URL),
      options: `-c search_path=${String(stack.env.DATABASE_SCHEMA)}`,
    });
    await db.connect();
  });
  afterAll(async () => {
    world?.close();
    await db?.end();
    await stack?.stop();
  });

  async function allOrders(): Promise<OrderView[]> {
    const orders: OrderView[] = [];
    for await (const order of dispatcher.client.orders.each({ limit: 100 })) orders.push(order);
    return orders;
  }

  const span = () => ({
    from: new Date(startedAt - HOUR).toISOString(),
    to: new Date(Date.now() + HOUR).toISOString(),
  });
  const report = () => dispatcher.client.admin.dispatchReport(span());

  it('after a lunch at 10x for a minute, the report of its hours matches the orders, in JSON and CSV', async () => {
    // k6's lunch-spike: 5 orders/s with two 10 s bursts to 50/s, 300 couriers accepting, picking up and delivering.
    const k6 = spawn(
      join(ROOT, 'load-tests', 'run-k6.sh'),
      [
        'lunch-spike',
        '--quiet',
        '--no-thresholds',
        ...['-e', 'PROFILE=ci', '-e', 'BASELINE=5', '-e', 'SPIKE_X=10', '-e', 'DURATION=60s', '-e', 'COURIERS=300'],
      ],
      { env: { ...process.env, BASE_URL: stack.baseUrl, JWT_SECRET: String(stack.env.JWT_SECRET) } },
    );
    const output: string[] = [];
    k6.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    k6.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    const code = await new Promise<number | null>((resolve) => k6.once('exit', resolve));
    if (code !== 0) throw new Error(`k6 exited ${code}:\n${output.join('').slice(-4000)}`);

    // Every order settles (delivered, or given up on once the couriers went home), then the report catches up.
    const orders = await eventually(
      async () => {
        const all = await allOrders();
        expect(
          all
            .filter((o) => !['delivered', 'cancelled', 'unassigned'].includes(o.status))
            .map((o) => `${o.id} ${o.status}`),
        ).toEqual([]);
        return all;
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(orders.length).toBeGreaterThan(800);
    const expected = expectedByHour(orders);
    const rows = await eventually(
      async () => {
        const { items } = await report();
        expect(items.map((r) => [r.key, r.placed, r.delivered, r.cancelled, r.unassigned])).toEqual(
          expected.map((e) => [e.key, e.placed, e.delivered, e.cancelled, e.unassigned]),
        );
        return items;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    rows.forEach((row, i) => {
      const e = expected[i] as (typeof expected)[number];
      expectWithinResolution(row.dispatchP50S, percentile(e.dispatch, 0.5));
      expectWithinResolution(row.dispatchP95S, percentile(e.dispatch, 0.95));
      expectWithinResolution(row.dispatchP99S, percentile(e.dispatch, 0.99));
      expectWithinResolution(row.toPickupP50S, percentile(e.toPickup, 0.5));
      expectWithinResolution(row.toDeliveryP50S, percentile(e.toDelivery, 0.5));
    });

    const csvSpan = span();
    const csv = await dispatcher.client.admin.dispatchReportCsv(csvSpan);
    expect(csv.filename).toBe(`dispatch-hour-${csvSpan.from.slice(0, 13)}.csv`);
    const [header, ...lines] = csv.csv.trimEnd().split('\r\n');
    expect(header).toBe(DISPATCH_REPORT_COLUMNS.join(','));
    expect(lines).toEqual(
      rows.map((r) => DISPATCH_REPORT_COLUMNS.map((c) => (r[c] === null ? '' : String(r[c]))).join(',')),
    );

    // Served as CSV (the typed call gives the text and the file name, not the media type).
    const raw = await dispatcher.client.http.send({
      method: 'GET',
      path: '/v1/admin/reports/dispatch',
      query: { ...csvSpan, format: 'csv' },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^text\/csv/);

    // By area: the same orders, spread over the H3 cells of their pickups.
    const byArea = await dispatcher.client.admin.dispatchReport({ ...span(), groupBy: 'area' });
    expect(byArea.items.length).toBeGreaterThan(1);
    expect(byArea.items.every((r) => /^87[0-9a-f]{13}$/.test(r.key))).toBe(true);
    expect(byArea.items.reduce((n, r) => n + r.placed, 0)).toBe(orders.length);
  }, 300_000);

  it('draws a courier’s trail from the positions it sent while on its order', async () => {
    const pickup = somewhere();
    const customer = await world.actor('customer', ['customer']);
    const courier = await world.courierAt(offset(pickup, 200));
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 1_500) });
    const offer = await courier.inbox.next('offer.created', (o) => o.orderId === order.id);
    expect(await courier.live.acceptOffer(offer.offerId)).toMatchObject({ id: order.id, status: 'assigned' });

    // Each position acknowledged (a refusal would throw its problem). An ack can
    // come back within the millisecond, so each fix is dated at least 1 ms after
    // the one before it (well inside the gateway's allowance for clock skew).
    const sent: { lat: number; lng: number; at: string }[] = [];
    let lastAt = 0;
    for (let i = 1; i <= 6; i += 1) {
      lastAt = Math.max(Date.now(), lastAt + 1);
      const fix = { ...offset(pickup, 200 - i * 40), at: new Date(lastAt).toISOString() };
      await courier.live.reportLocation(fix);
      sent.push(fix);
    }
    expect(new Set(sent.map((s) => s.at)).size).toBe(sent.length);
    expect(await courier.client.orders.pickUp(order.id)).toMatchObject({ status: 'picked_up' });
    expect(await courier.client.orders.deliver(order.id)).toMatchObject({ status: 'delivered' });
    // After the delivery the courier is off the order: this position is not in the trail. The delivery
    // may share the millisecond the answer came back in, and a trail ends on it inclusively: 1 ms later.
    await courier.live.reportLocation({ ...offset(pickup, 5_000), at: new Date(Date.now() + 1).toISOString() });

    const trailSpan: Span = { from: new Date(Date.now() - HOUR), to: new Date(Date.now() + 60_000) };
    const trail = await eventually(
      async () => {
        const found = await dispatcher.client.admin.courierTrail(courier.id, trailSpan);
        expect(found.properties.times).toHaveLength(sent.length);
        return found;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(trail).toEqual({
      type: 'Feature',
      geometry: { type: 'LineString', coordinates: sent.map((s) => [s.lng, s.lat]) },
      properties: {
        courierId: courier.id,
        from: expect.any(String),
        to: expect.any(String),
        times: sent.map((s) => s.at),
        orderIds: sent.map(() => order.id),
      },
    });
    // Only dispatchers read trails.
    await expect(customer.client.admin.courierTrail(courier.id, trailSpan)).rejects.toBeInstanceOf(ForbiddenError);
  }, 120_000);

  it('refuses bad queries and other roles with problem+json', async () => {
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString();
    const customer = await world.actor('customer', ['customer']);
    // Raw exchanges: most of these queries are ones no typed call would send, and each answer's media type is checked.
    for (const [path, field] of [
      [`/v1/admin/reports/dispatch?from=${at(now)}&to=${at(now - HOUR)}`, 'query.to'],
      [`/v1/admin/reports/dispatch?from=${at(now - 32 * 24 * HOUR)}&to=${at(now)}`, 'query.to'],
      [`/v1/admin/reports/dispatch?from=yesterday&to=${at(now)}`, 'query.from'],
      [`/v1/admin/reports/dispatch?from=${at(now - HOUR)}&to=${at(now)}&groupBy=week`, 'query.groupBy'],
      [`/v1/admin/reports/dispatch?from=${at(now - HOUR)}&to=${at(now)}&format=xml`, 'query.format'],
      [`/v1/admin/reports/dispatch?from=${at(now - HOUR)}&to=${at(now)}&limit=5`, 'query.limit'],
      [`/v1/admin/couriers/c1/trail?from=${at(now - 25 * HOUR)}&to=${at(now)}`, 'query.to'],
      [`/v1/admin/couriers/${'c'.repeat(201)}/trail?from=${at(now - HOUR)}&to=${at(now)}`, 'path.id'],
    ] as const) {
      const res = await dispatcher.api<ProblemDetails>('GET', path);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({
        path,
        status: 400,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(res.body.errors?.map((e) => e.path)).toContain(field);
    }
    const lastHour: Span = { from: at(now - HOUR), to: at(now) };
    await expect(customer.client.admin.dispatchReport(lastHour)).rejects.toBeInstanceOf(ForbiddenError);
    const anonymous = new MeshClient({ baseUrl: stack.baseUrl, retry: { attempts: 0 } });
    await expect(anonymous.admin.dispatchReport(lastHour)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('replaying the archive over the same Kafka offsets changes nothing', async () => {
    const count = async () =>
      (
        await db.query<{ events: string; orders: string; positions: string; latency: string }>(
          `SELECT (SELECT count(*) FROM route_order_events) AS events, (SELECT count(*) FROM route_orders) AS orders,
                  (SELECT count(*) FROM route_positions) AS positions, (SELECT sum(n) FROM dispatch_latency) AS latency`,
        )
      ).rows[0];
    const kafka = new Kafka({
      clientId: 'replay',
      brokers: String(stack.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const prefix = String(stack.env.KAFKA_TOPIC_PREFIX);
    /** Both archive functions have handled every event on their topics (a position waiting for its order's archive record included). */
    const caughtUp = () =>
      eventually(
        async () => {
          for (const [fn, topic] of [
            ['archive', 'orders'],
            ['trail', 'couriers'],
          ] as const) {
            const [committed] = await admin.fetchOffsets({
              groupId: `${prefix}${functionGroup(fn)}`,
              topics: [topicName(topic, prefix)],
            });
            const ends = await admin.fetchTopicOffsets(topicName(topic, prefix));
            for (const p of committed?.partitions ?? []) {
              expect(p.offset).toBe(ends.find((e) => e.partition === p.partition)?.offset);
            }
          }
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    let before: { rows: Awaited<ReturnType<typeof count>>; report: Awaited<ReturnType<typeof report>> };
    try {
      // What the archive holds once everything sent so far was handled: a replay must leave exactly that.
      await caughtUp();
      before = { rows: await count(), report: await report() };
      expect(Number(before.rows?.events)).toBeGreaterThan(1_000);
      await stack.restartFunctions('SIGKILL', async () => {
        // Once the killed process has left the groups, both archive functions start again from the first offset.
        for (const [fn, topic] of [
          ['archive', 'orders'],
          ['trail', 'couriers'],
        ] as const) {
          await eventually(
            () =>
              admin.resetOffsets({
                groupId: `${prefix}${functionGroup(fn)}`,
                topic: topicName(topic, prefix),
                earliest: true,
              }),
            {
              timeoutMs: 30_000,
              intervalMs: 500,
            },
          );
        }
      });
      // The replay is done when the archive's groups have caught up again.
      await caughtUp();
    } finally {
      await admin.disconnect();
    }
    expect(await count()).toEqual(before.rows);
    expect(await report()).toEqual(before.report);
  }, 180_000);
});
