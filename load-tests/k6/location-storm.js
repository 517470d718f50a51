// Location storm: thousands of couriers streaming positions over Socket.IO, each update
// acknowledged by the gateway once it is on Kafka. The ack latency is a k6 metric with thresholds.
//
//   k6 run -e JWT_SECRET=… [-e PROFILE=ci] [-e COURIERS=2000] [-e EVERY_MS=1000] [-e DURATION=60s] location-storm.js
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { clearInterval, setInterval, setTimeout } from 'k6/timers';
import { api, offset, socketIo, token } from './lib/mesh.js';

const CI = (__ENV.PROFILE || 'full') === 'ci';
const COURIERS = Number(__ENV.COURIERS || (CI ? 50 : 2000));
const EVERY_MS = Number(__ENV.EVERY_MS || 1000);
const DURATION_S = Number((__ENV.DURATION || (CI ? '15s' : '60s')).replace(/s$/, ''));
const CITY = { lat: 52.52, lng: 13.405 };
/** Couriers come online spread over this many seconds, as phones do, not in one instant. */
const RAMP_S = CI ? 1 : 10;

const ackLatency = new Trend('location_ack_latency', true);
const refused = new Counter('location_refused');

export const options = {
  // count: the bench divides the stack's CPU by the positions acknowledged.
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  scenarios: {
    couriers: {
      executor: 'per-vu-iterations',
      vus: COURIERS,
      iterations: 1,
      maxDuration: `${RAMP_S + DURATION_S + 30}s`,
    },
  },
  thresholds: {
    location_ack_latency: [CI ? 'p(99)<250' : 'p(99)<100'],
    location_refused: ['count==0'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  sleep(Math.random() * RAMP_S);
  const me = token(`k6-storm-${exec.vu.idInTest}`, ['courier']);
  check(api('PUT', '/v1/couriers/me/availability', me, { available: true }, { name: 'availability' }), {
    'courier online': (r) => r.status === 200,
  });
  let spot = offset(CITY, (Math.random() - 0.5) * 8000, (Math.random() - 0.5) * 8000);
  socketIo(me, {}, (client) => {
    // Spread the couriers over the interval so the load is even, as real phones are.
    setTimeout(() => {
      const timer = setInterval(() => {
        spot = offset(spot, (Math.random() - 0.5) * 30, (Math.random() - 0.5) * 30);
        const sentAt = Date.now();
        client.emit('courier.location', { ...spot, at: new Date().toISOString() }, (ack) => {
          if (ack.ok) ackLatency.add(Date.now() - sentAt);
          else refused.add(1);
        });
      }, EVERY_MS);
      setTimeout(() => {
        clearInterval(timer);
        client.close();
      }, DURATION_S * 1000);
    }, Math.random() * EVERY_MS);
  });
}
