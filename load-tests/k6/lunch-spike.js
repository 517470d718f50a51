// Lunch-hour spike: customers order on an open arrival-rate model (a baseline with bursts of
// SPIKE_X times it), while couriers hold Socket.IO connections, stream their positions and accept
// offers. Dispatch latency (order accepted → offer on the courier's socket) is a k6 metric.
//
//   k6 run -e JWT_SECRET=… [-e PROFILE=ci|full] [-e BASELINE=20] [-e SPIKE_X=10] [-e DURATION=2m] [-e COURIERS=2000] lunch-spike.js
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setInterval, setTimeout, clearInterval } from 'k6/timers';
import { api, offset, socketIo, token } from './lib/mesh.js';

const PROFILE = __ENV.PROFILE || 'full';
const CI = PROFILE === 'ci';
const BASELINE = Number(__ENV.BASELINE || (CI ? 5 : 20));
const SPIKE_X = Number(__ENV.SPIKE_X || (CI ? 4 : 10));
const DURATION_S = parseDuration(__ENV.DURATION || (CI ? '20s' : '2m'));
// The CI fleet can carry its spike (20/s, each courier busy ~3 s an order): orders wait for a free courier otherwise.
const COURIERS = Number(__ENV.COURIERS || (CI ? 80 : 2000));
const CITY = { lat: Number(__ENV.CITY_LAT || 52.52), lng: Number(__ENV.CITY_LNG || 13.405) };
const CITY_HALF_M = 5000;
/** Couriers come online spread over this many seconds, as a shift starts. */
const RAMP_S = CI ? 2 : 5;
/**
 * Customers start ordering this long after the ramp, once the fleet is online and settled: lunch
 * comes to a fleet already at work, and 2,000 sign-ins in 5 s are a shift-start storm of their
 * own, which would otherwise make the first orders' latency.
 */
const SETTLE_S = CI ? 1 : 10;
/** When the customers start, and how long each courier stays online. */
const ORDERS_FROM_S = RAMP_S + SETTLE_S;
const COURIER_ONLINE_S = ORDERS_FROM_S + DURATION_S + 10;

const dispatchLatency = new Trend('dispatch_latency', true);
const offersReceived = new Counter('offers_received');
const ordersAccepted = new Counter('orders_accepted');

function parseDuration(text) {
  const m = /^(\d+)(s|m)$/.exec(text);
  if (!m) throw new Error(`DURATION like 90s or 2m, not ${text}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/** Baseline with a 10 s burst to SPIKE_X × baseline every 30 s (the seed's "several times an hour", compressed). */
function spikeStages() {
  const stages = [];
  for (let t = 0; t < DURATION_S; t += 30) {
    const calm = Math.min(18, DURATION_S - t);
    stages.push({ target: BASELINE, duration: `${Math.max(1, calm)}s` });
    if (t + 20 <= DURATION_S) {
      stages.push(
        { target: BASELINE * SPIKE_X, duration: '1s' },
        { target: BASELINE * SPIKE_X, duration: '10s' },
        { target: BASELINE, duration: '1s' },
      );
    }
  }
  return stages;
}

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  scenarios: {
    couriers: {
      executor: 'per-vu-iterations',
      exec: 'courier',
      vus: COURIERS,
      iterations: 1,
      maxDuration: `${COURIER_ONLINE_S + 20}s`,
    },
    customers: {
      executor: 'ramping-arrival-rate',
      exec: 'customer',
      startTime: `${ORDERS_FROM_S}s`,
      startRate: BASELINE,
      timeUnit: '1s',
      preAllocatedVUs: Math.max(20, BASELINE * SPIKE_X),
      maxVUs: Math.max(50, BASELINE * SPIKE_X * 4),
      stages: spikeStages(),
    },
  },
  thresholds: {
    'http_req_failed{scenario:customers}': ['rate<0.01'],
    'http_req_duration{name:place-order}': [CI ? 'p(99)<500' : 'p(99)<250'],
    dispatch_latency: [CI ? 'p(99)<500' : 'p(99)<150'],
    dropped_iterations: [CI ? 'count<5' : 'count<50'],
    checks: ['rate>0.99'],
  },
};

const randomSpot = () => offset(CITY, (Math.random() * 2 - 1) * CITY_HALF_M, (Math.random() * 2 - 1) * CITY_HALF_M);

let customerToken = null;

export function customer() {
  // One sign-in per customer VU, reused for its orders, as an app keeps its token.
  customerToken ??= token(`k6-customer-${exec.vu.idInTest}`, ['customer']);
  const me = customerToken;
  const res = api(
    'POST',
    '/v1/orders',
    me,
    { pickup: randomSpot(), dropoff: randomSpot(), items: [{ sku: 'lunch', qty: 1 }] },
    { name: 'place-order' },
  );
  if (check(res, { 'order accepted (202)': (r) => r.status === 202 })) ordersAccepted.add(1);
}

export function courier() {
  const id = `k6-courier-${exec.vu.idInTest}`;
  const me = token(id, ['courier']);
  let spot = randomSpot();
  let client = { emit() {}, close() {} };
  // The fleet comes online over the first seconds, as shifts start, not in one instant.
  sleep(Math.random() * RAMP_S);
  const ws = socketIo(
    me,
    {
      'offer.created': (offer) => {
        const receivedAt = Date.now();
        offersReceived.add(1);
        client.emit('offer.accept', { offerId: offer.offerId }, (ack) => {
          if (!ack.ok) return;
          dispatchLatency.add(receivedAt - Date.parse(ack.order.createdAt));
          // Deliver a few seconds later, so the fleet turns over through the spikes.
          setTimeout(() => {
            api('POST', `/v1/orders/${offer.orderId}/pickup`, me, undefined, { name: 'pickup' });
            api('POST', `/v1/orders/${offer.orderId}/deliver`, me, undefined, { name: 'deliver' });
          }, 3000);
        });
      },
      // The server lost live state: the app says again where it is and that it works (API.md).
      'courier.resync': () => {
        api('PUT', '/v1/couriers/me/location', me, spot, { name: 'location' });
        api('PUT', '/v1/couriers/me/availability', me, { available: true }, { name: 'availability' });
      },
    },
    (connected) => {
      client = connected;
      // Like a courier app: online on the socket first, then a position, then available for work.
      api('PUT', '/v1/couriers/me/location', me, spot, { name: 'location' });
      check(api('PUT', '/v1/couriers/me/availability', me, { available: true }, { name: 'availability' }), {
        'courier online': (r) => r.status === 200,
      });
      const moving = setInterval(() => {
        spot = offset(spot, (Math.random() - 0.5) * 40, (Math.random() - 0.5) * 40);
        client.emit('courier.location', { ...spot, at: new Date().toISOString() });
      }, 4000);
      setTimeout(() => {
        clearInterval(moving);
        client.close();
      }, COURIER_ONLINE_S * 1000);
    },
  );
  ws.onerror = (e) => console.error(`courier ${id}: ${e.error}`);
}
