/**
 * `npm start`: gateway and functions in one process on the in-memory adapters,
 * with a simulated city riding on it (couriers, customers) so a first run shows
 * something alive. Nothing but Node is needed; development tokens are on.
 * SIMULATE=0 starts it empty.
 */
import 'reflect-metadata';
import { AppConfig } from '@mesh/config';
import { TokenIssuer } from '@mesh/auth';
import { createLogger } from '@mesh/telemetry';
import { randomBytes } from 'node:crypto';
import { FunctionsModule } from '../../functions/src/functions.module';
import { createGateway, listenGateway } from '../../gateway/src/bootstrap';
import { CitySimulator, DEFAULT_SIMULATION } from '../../simulator/src/city-simulator';

async function main(): Promise<void> {
  const config = AppConfig.fromEnv({
    LOG_LEVEL: 'warn',
    // Live rooms can be tried at once with synthetic co-hosts (test:color=red, test:pattern).
    MIX_TEST_SOURCES: '1',
    ...process.env,
    ADAPTERS: 'memory',
    DEV_TOKENS: '1',
    JWT_SECRET: process.env.JWT_SECRET ?? randomBytes(32).toString('base64url'),
  });
  const logger = createLogger('embedded', config.logLevel);
  const app = await createGateway(config, logger, [FunctionsModule.forRoot()]);
  await listenGateway(app, config);
  const base = `http://${config.host}:${config.port}`;
  const simulate = process.env.SIMULATE !== '0';
  if (simulate) {
    const issuer = new TokenIssuer(config);
    await new CitySimulator({
      ...DEFAULT_SIMULATION,
      baseUrl: base,
      token: (sub, roles) => issuer.issue({ sub, roles }),
      onError: (err) => logger.warn({ err }, 'simulator request failed'),
    }).start();
  }
  process.stdout.write(
    [
      '',
      `Dispatch Mesh (embedded: gateway + functions, in-memory adapters) on ${base}`,
      `  API docs     ${base}/docs`,
      `  health       ${base}/healthz   metrics ${base}/metrics`,
      `  a token      curl -s -X POST ${base}/v1/dev/tokens -H 'content-type: application/json' -d '{"sub":"courier-1","roles":["courier"]}'`,
      `  Socket.IO    ${base} (path /socket.io, auth: { token })`,
      `  live rooms   POST /v1/streams as a host, co-hosts with inputUrl "test:color=red" or "test:pattern" (needs ffmpeg); play the output.hlsUrl of its view (a signed /live URL)`,
      simulate
        ? `  simulation   ${DEFAULT_SIMULATION.couriers} couriers riding in Berlin, ${DEFAULT_SIMULATION.ordersPerMinute} orders a minute (SIMULATE=0 for none); watch as a dispatcher`
        : '  simulation   off',
      'For the real stack (Kafka + Redis, separate processes): npm run infra:up && npm run stack',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
