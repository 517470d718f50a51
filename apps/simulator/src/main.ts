/**
 * npm run simulate [-- --couriers 200 --orders-per-min 120 --accept 0.85 --bbox 52.48,13.33,52.56,13.47]
 *
 * Simulated couriers and customers on the running stack (npm run stack), through the
 * public API, with tokens signed by the stack's development secret.
 */
import 'reflect-metadata';
import { TokenIssuer } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import { parseArgs } from 'node:util';
import { localJwtSecret } from '../../../scripts/dev-secret';
import { CitySimulator, DEFAULT_SIMULATION } from './city-simulator';

const { values } = parseArgs({
  options: {
    couriers: { type: 'string', default: '200' },
    'orders-per-min': { type: 'string', default: '120' },
    accept: { type: 'string', default: String(DEFAULT_SIMULATION.acceptProbability) },
    bbox: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const config = AppConfig.fromEnv({
    ...process.env,
    JWT_SECRET: localJwtSecret(),
    JWT_PUBLIC_KEY: '',
    JWT_JWKS_URL: '',
  });
  const issuer = new TokenIssuer(config);
  const bbox = values.bbox?.split(',').map(Number);
  const simulator = new CitySimulator({
    ...DEFAULT_SIMULATION,
    baseUrl: process.env.BASE_URL ?? `http://127.0.0.1:${config.port}`,
    token: (sub, roles) => issuer.issue({ sub, roles }),
    couriers: Number(values.couriers),
    ordersPerMinute: Number(values['orders-per-min']),
    acceptProbability: Number(values.accept),
    ...(bbox?.length === 4
      ? {
          bbox: [
            { lat: bbox[0]!, lng: bbox[1]! },
            { lat: bbox[2]!, lng: bbox[3]! },
          ],
        }
      : {}),
    onError: (err) => process.stderr.write(`[simulate] ${err instanceof Error ? err.message : String(err)}\n`),
  });
  await simulator.start();
  process.stdout.write(
    `[simulate] ${values.couriers} couriers riding, ${values['orders-per-min']} orders a minute; Ctrl-C to stop\n`,
  );
  process.once('SIGINT', () => {
    simulator.stop();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`[simulate] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
