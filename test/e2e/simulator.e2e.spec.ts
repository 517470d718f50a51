import { TokenIssuer } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import { MeshClient } from '@mesh/client';
import { eventually, freePort, silentLogger } from '@mesh/harness';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { FunctionsModule } from '../../apps/functions/src/functions.module';
import { createGateway } from '../../apps/gateway/src/bootstrap';
import { CitySimulator, DEFAULT_SIMULATION } from '../../apps/simulator/src/city-simulator';

/**
 * The city simulator `npm start` runs by default, on the embedded app: couriers
 * ride, customers order, and orders go all the way to delivered through the API.
 */
describe('city simulator (embedded app)', () => {
  let app: INestApplication;
  let simulator: CitySimulator;
  let base: string;
  let issuer: TokenIssuer;

  beforeAll(async () => {
    const port = await freePort();
    const config = AppConfig.fromEnv({
      ADAPTERS: 'memory',
      DEV_TOKENS: '1',
      PORT: String(port),
      LOG_LEVEL: 'silent',
      OFFER_TTL_S: '5',
      JWT_SECRET: randomBytes(32).toString('base64url'),
    });
    app = await createGateway(config, silentLogger, [FunctionsModule.forRoot()]);
    await app.listen(port, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    issuer = new TokenIssuer(config);
    simulator = new CitySimulator({
      ...DEFAULT_SIMULATION,
      baseUrl: base,
      token: (sub, roles) => issuer.issue({ sub, roles }),
      couriers: 10,
      ordersPerMinute: 120,
      // Fast-forward: couriers ride at 300 m/s and report every 100 ms.
      speedMps: 300,
      reportEveryMs: 100,
    });
    await simulator.start();
  });
  afterAll(async () => {
    simulator?.stop();
    await app?.close();
  });

  it('gets orders placed, offered, accepted, picked up and delivered, with couriers moving', async () => {
    const dispatcher = new MeshClient({
      baseUrl: base,
      token: await issuer.issue({ sub: 'watcher', roles: ['dispatcher'] }),
    });
    const couriers = async () =>
      (await dispatcher.couriers.nearby({ lat: 52.52, lng: 13.4, radiusM: 20_000, limit: 100 })).items;
    const before = await couriers();
    expect(before).toHaveLength(10);

    const delivered = await eventually(
      async () => {
        const page = await dispatcher.orders.list({ status: 'delivered', limit: 100 });
        expect(page.items.length).toBeGreaterThanOrEqual(3);
        return page.items;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(delivered[0]!.timeline.map((t) => t.status)).toEqual(
      expect.arrayContaining(['pending', 'offered', 'assigned', 'picked_up', 'delivered']),
    );
    const after = await couriers();
    const moved = after.filter((c) => before.find((b) => b.id === c.id)?.location?.lat !== c.location?.lat);
    expect(moved.length).toBeGreaterThan(5);
  });
});
