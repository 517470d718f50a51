// Live rooms: hosts open rooms, bring co-hosts in (synthetic test sources), go live, then
// co-hosts join and leave and the layout changes while the mix runs. Measured: the time from
// start to the host hearing `live`, and from each change's 202 to the host hearing the mix
// applied that revision (`stream.updated`), next to HTTP latency and errors.
// Needs a stack with MIX_TEST_SOURCES=1 (npm start has it).
//
//   k6 run -e JWT_SECRET=… [-e PROFILE=ci] [-e ROOMS=4] [-e COHOSTS=3] [-e EVERY_S=4] [-e DURATION=60s] live-rooms.js
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { clearInterval, setInterval, setTimeout } from 'k6/timers';
import { api, socketIo, token } from './lib/mesh.js';

const CI = (__ENV.PROFILE || 'full') === 'ci';
const ROOMS = Number(__ENV.ROOMS || (CI ? 2 : 4));
const COHOSTS = Number(__ENV.COHOSTS || 3);
const EVERY_S = Number(__ENV.EVERY_S || 4);
const DURATION_S = Number((__ENV.DURATION || (CI ? '20s' : '60s')).replace(/s$/, ''));
const COLOURS = ['red', 'green', 'blue', 'yellow', 'cyan', 'magenta', 'white', 'orange', 'purple'];

const goLive = new Trend('stream_go_live', true);
const applied = new Trend('stream_change_applied', true);
const changes = new Counter('stream_changes');
const failures = new Counter('stream_failures');
const wentLive = new Counter('streams_live');

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  scenarios: {
    hosts: { executor: 'per-vu-iterations', vus: ROOMS, iterations: 1, maxDuration: `${DURATION_S + 60}s` },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:stream-change}': ['p(95)<250'],
    stream_go_live: [CI ? 'p(95)<10000' : 'p(95)<5000'],
    stream_change_applied: ['p(95)<2000'],
    stream_failures: ['count==0'],
    streams_live: [`count==${ROOMS}`],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const host = `k6-host-${exec.vu.idInTest}`;
  const me = token(host, ['host']);
  /** Revisions the host is waiting to hear applied, with when their 202 came back. */
  const waiting = {};
  let startedAt = 0;
  let live = false;
  socketIo(
    me,
    {
      'stream.updated': (view) => {
        if (view.status === 'failed') failures.add(1);
        if (view.status === 'live' && !live && startedAt) {
          live = true;
          goLive.add(Date.now() - startedAt);
          wentLive.add(1);
        }
        for (const revision of Object.keys(waiting)) {
          if (view.revision >= Number(revision)) {
            applied.add(Date.now() - waiting[revision]);
            delete waiting[revision];
          }
        }
      },
    },
    (client) => {
      const created = api('POST', '/v1/streams', me, { title: `k6 room ${exec.vu.idInTest}` }, { name: 'stream-open' });
      if (!check(created, { 'room opened (201)': (r) => r.status === 201 })) return client.close();
      const id = created.json('id');
      const change = (method, path, body) => {
        const res = api(method, `/v1/streams/${id}${path}`, me, body, { name: 'stream-change' });
        if (check(res, { 'change accepted (202)': (r) => r.status === 202 })) {
          changes.add(1);
          if (live) waiting[res.json('revision')] = Date.now();
        }
        return res;
      };
      change('PUT', `/participants/${host}`, { inputUrl: 'test:pattern' });
      for (let i = 0; i < COHOSTS; i++)
        change('PUT', `/participants/cohost-${i}`, { inputUrl: `test:color=${COLOURS[i % COLOURS.length]}` });
      startedAt = Date.now();
      change('POST', '/start');

      // A guest joins, the layout changes, the guest leaves; again and again.
      const layouts = ['speaker', 'pip', 'grid'];
      let tick = 0;
      const churn = setInterval(() => {
        if (!live) return;
        tick += 1;
        const step = tick % 3;
        if (step === 1)
          change('PUT', '/participants/guest', { inputUrl: `test:color=${COLOURS[tick % COLOURS.length]}` });
        else if (step === 2) change('PUT', '/layout', { layout: layouts[Math.floor(tick / 3) % layouts.length] });
        else change('DELETE', '/participants/guest');
      }, EVERY_S * 1000);
      setTimeout(() => {
        clearInterval(churn);
        change('POST', '/stop');
        setTimeout(() => client.close(), 2000);
      }, DURATION_S * 1000);
    },
  );
}
