import { TokenIssuer } from '@mesh/auth';
import { MeshClient } from '@mesh/client';
import { AppConfig } from '@mesh/config';
import { eventually, freePort, startProcess } from '@mesh/harness';
import { randomBytes } from 'node:crypto';

describe('readiness', () => {
  it('answers 503 naming Kafka and Redis when neither answers, while /healthz stays 200', async () => {
    const [port, deadKafka, deadRedis] = [await freePort(), await freePort(), await freePort()];
    const env = {
      ...process.env,
      ADAPTERS: 'real',
      PORT: String(port),
      KAFKA_BROKERS: `127.0.0.1:${deadKafka}`,
      REDIS_URL: `redis://127.0.0.1:${deadRedis}`,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'silent',
    };
    const gateway = startProcess('gateway', 'apps/gateway/src/main.js', env);
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => expect((await fetch(`${base}/healthz`)).status).toBe(200), { timeoutMs: 30_000 });
      const res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({
        status: 503,
        detail: 'Not ready: kafka and redis down.',
        checks: { kafka: { status: 'down' }, redis: { status: 'down' } },
      });

      // A request that needs Redis gets a 503 problem, not a 500, within the 2 s command timeout.
      const token = await new TokenIssuer(AppConfig.fromEnv(env)).issue({ sub: 'c-1', roles: ['courier'] });
      // Raw: the problem+json media type is checked too, which a typed error does not carry.
      const me = await new MeshClient({ baseUrl: base, token }).http.send({ method: 'GET', path: '/v1/couriers/me' });
      expect(me.status).toBe(503);
      expect(me.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(me.body).toMatchObject({ status: 503, type: '/problems/dependency-down' });
    } finally {
      await gateway.stop('SIGKILL');
    }
  });
});
