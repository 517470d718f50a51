/**
 * npm run bench:dispatch [-- --couriers 2000 --rate 200 --seconds 20]
 *
 * Starts gateway and functions as separate processes on the real Kafka and Redis,
 * brings N simulated couriers online over Socket.IO across a city, and places
 * orders at an open-loop rate. Couriers accept every offer over the socket and
 * deliver a few seconds later, so the fleet keeps turning over. Prints orders/s
 * and the dispatch latency: from the order `POST` being sent (and from its 202)
 * to the `offer.created` arriving on the chosen courier's socket. At the end,
 * every placed order is checked: offered, or `unassigned` — anything else is lost.
 */
import { MeshApiError, MeshClient, type MeshLive } from '@mesh/client';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startStack } from '@mesh/harness';
import { ms, percentile } from './figures';

const { values } = parseArgs({
  options: {
    couriers: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'deliver-after': { type: 'string', default: '3' },
  },
});
const COURIERS = Number(values.couriers);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WARMUP_S = Number(values.warmup);
const DELIVER_AFTER_MS = Number(values['deliver-after']) * 1000;
const CUSTOMERS = 100;
const CITY = { lat: 52.52, lng: 13.405 };
/** Half the side of the square city, metres. */
const CITY_HALF_M = 5_000;

const randomSpot = () => ({
  lat: CITY.lat + ((Math.random() * 2 - 1) * CITY_HALF_M) / 111_320,
  lng: CITY.lng + ((Math.random() * 2 - 1) * CITY_HALF_M) / (111_320 * Math.cos((CITY.lat * Math.PI) / 180)),
});

interface Placed {
  sentAt: number;
  acceptedAt: number;
  measured: boolean;
}

async function main(): Promise<void> {
  const stack = await startStack({ LOG_LEVEL: 'error', OFFER_TTL_S: '15' });
  const offerArrivals = new Map<string, number>();
  const lives: MeshLive[] = [];
  const deliveriesDue = new Set<NodeJS.Timeout>();
  let deliveries = 0;
  let answerErrors = 0;

  for (let start = 0; start < COURIERS; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, COURIERS - start) }, async (_, k) => {
        const id = `bench-courier-${start + k}`;
        const courier = new MeshClient({ baseUrl: stack.baseUrl, token: await stack.token(id, ['courier']) });
        const live = await courier.live({ transports: ['websocket'], reconnection: false }).connect();
        lives.push(live);
        live.on('offer.created', (offer) => {
          offerArrivals.set(offer.orderId, performance.now());
          live.acceptOffer(offer.offerId).then(
            () => {
              const due = setTimeout(() => {
                deliveriesDue.delete(due);
                void (async () => {
                  await courier.orders.pickUp(offer.orderId);
                  await courier.orders.deliver(offer.orderId);
                  deliveries += 1;
                })().catch(() => undefined);
              }, DELIVER_AFTER_MS);
              deliveriesDue.add(due);
            },
            () => {
              answerErrors += 1;
            },
          );
        });
        await courier.couriers.setAvailability(true);
        await courier.couriers.reportLocation(randomSpot());
      }),
    );
  }
  const dispatcher = new MeshClient({
    baseUrl: stack.baseUrl,
    token: await stack.token('bench-dispatcher', ['dispatcher']),
  });
  // Wait until the location function has put the fleet on the map.
  for (;;) {
    const nearby = await dispatcher.couriers.nearby({ ...CITY, radiusM: 50_000, limit: 100 });
    if (nearby.items.length >= Math.min(100, COURIERS)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // The measured path: one POST per order, as it came (no retry, so no generated Idempotency-Key either).
  const customers = await Promise.all(
    Array.from(
      { length: CUSTOMERS },
      async (_, i) =>
        new MeshClient({
          baseUrl: stack.baseUrl,
          token: await stack.token(`bench-customer-${i}`, ['customer']),
          retry: { attempts: 0 },
        }),
    ),
  );
  process.stdout.write(`${COURIERS} couriers online; placing ${RATE} orders/s for ${WARMUP_S}+${SECONDS} s\n`);

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const placed = new Map<string, Placed>();
  const inFlight = new Set<Promise<void>>();
  let refused = 0;
  const started = performance.now();
  const end = started + (WARMUP_S + SECONDS) * 1000;
  const intervalMs = 1000 / RATE;
  let next = started;
  let n = 0;
  let measureStart = 0;
  let placedInWindow = 0;
  while (performance.now() < end) {
    const now = performance.now();
    if (!measureStart && now - started >= WARMUP_S * 1000) measureStart = now;
    while (next <= now) {
      const customer = customers[n++ % CUSTOMERS]!;
      const measured = measureStart > 0;
      const sentAt = performance.now();
      const pickup = randomSpot();
      // Placed answers 202; anything else throws its problem (or the connection's failure) and is refused.
      const request = customer.orders.place({ pickup, dropoff: randomSpot(), items: [{ sku: 'lunch', qty: 1 }] }).then(
        (order) => {
          placed.set(order.id, { sentAt, acceptedAt: performance.now(), measured });
          if (measured) placedInWindow += 1;
        },
        () => {
          refused += 1;
        },
      );
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
      next += intervalMs;
    }
    // A 1 ms tick, not a spin: the generator shares the machine with what it measures.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const windowS = (performance.now() - measureStart) / 1000;
  loopDelay.disable();
  await Promise.all(inFlight);

  // Give the last orders time to be offered, then account for every one.
  const settleBy = performance.now() + 20_000;
  while (performance.now() < settleBy && [...placed.keys()].some((id) => !offerArrivals.has(id))) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const unoffered = [...placed.keys()].filter((id) => !offerArrivals.has(id));
  const statuses: Record<string, number> = {};
  for (const id of unoffered) {
    const status = await dispatcher.orders.get(id).then(
      (order) => order.status,
      (err: unknown) => {
        if (err instanceof MeshApiError) return `http ${err.status}`;
        throw err;
      },
    );
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  const lost = unoffered.length - (statuses.unassigned ?? 0);

  const fromSend: number[] = [];
  const fromAccept: number[] = [];
  for (const [id, order] of placed) {
    const offeredAt = offerArrivals.get(id);
    if (!order.measured || offeredAt === undefined) continue;
    fromSend.push(offeredAt - order.sentAt);
    fromAccept.push(Math.max(0, offeredAt - order.acceptedAt));
  }
  const serverSide = histogramQuantiles(
    await (await fetch(`${stack.functionsUrl}/metrics`)).text(),
    'mesh_dispatch_latency_seconds',
    [0.5, 0.95, 0.99],
  );
  fromSend.sort((a, b) => a - b);
  fromAccept.sort((a, b) => a - b);
  const report = {
    couriers: COURIERS,
    targetRate: RATE,
    ordersPerS: Math.round((placedInWindow / windowS) * 10) / 10,
    placed: placed.size,
    refused,
    offered: placed.size - unoffered.length,
    unassigned: statuses.unassigned ?? 0,
    lost,
    sendToOfferP50: percentile(fromSend, 50),
    sendToOfferP95: percentile(fromSend, 95),
    sendToOfferP99: percentile(fromSend, 99),
    acceptedToOfferP50: percentile(fromAccept, 50),
    acceptedToOfferP95: percentile(fromAccept, 95),
    acceptedToOfferP99: percentile(fromAccept, 99),
    serverCreatedToOfferMsAtMost: serverSide,
    benchLoopDelayP99: loopDelay.percentile(99) / 1e6,
    deliveries,
    answerErrors,
  };
  process.stdout.write(
    [
      '',
      'dispatch: POST /v1/orders → Kafka → dispatch function → Redis claim → Kafka → order-updates → Socket.IO',
      `  couriers online       ${COURIERS}`,
      `  orders                ${report.ordersPerS}/s placed (target ${RATE}); ${report.placed} placed, ${refused} refused`,
      `  outcome               ${report.offered} offered, ${report.unassigned} unassigned, ${lost} lost ${JSON.stringify(statuses)}`,
      `  POST sent → offer     p50 ${ms(report.sendToOfferP50)}  p95 ${ms(report.sendToOfferP95)}  p99 ${ms(report.sendToOfferP99)}`,
      `  202 → offer           p50 ${ms(report.acceptedToOfferP50)}  p95 ${ms(report.acceptedToOfferP95)}  p99 ${ms(report.acceptedToOfferP99)}`,
      `  server side           order created → offer committed: p50 ≤ ${serverSide[0]} ms, p95 ≤ ${serverSide[1]} ms, p99 ≤ ${serverSide[2]} ms (histogram buckets)`,
      `  couriers              ${deliveries} deliveries, ${answerErrors} refused answers`,
      `  bench process         event-loop delay p99 ${ms(report.benchLoopDelayP99)} (how late the client itself was)`,
      '',
      JSON.stringify(report),
      '',
    ].join('\n'),
  );
  for (const due of deliveriesDue) clearTimeout(due);
  for (const live of lives) live.close();
  await stack.stop();
}

/** Upper bounds (ms) of the histogram buckets holding the given quantiles. */
function histogramQuantiles(page: string, name: string, quantiles: number[]): number[] {
  const buckets = page
    .split('\n')
    .filter((line) => line.startsWith(`${name}_bucket{`))
    .map((line) => {
      const le = /le="([^"]+)"/.exec(line)?.[1] ?? '+Inf';
      return { le: le === '+Inf' ? Infinity : Number(le) * 1000, count: Number(line.slice(line.lastIndexOf(' ') + 1)) };
    });
  const total = buckets.at(-1)?.count ?? 0;
  return quantiles.map((q) => buckets.find((b) => b.count >= q * total)?.le ?? NaN);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
