import 'reflect-metadata';
import { AppConfig } from '@mesh/config';
import { createLogger } from '@mesh/telemetry';
import { createGateway, listenGateway } from './bootstrap';

async function main(): Promise<void> {
  const config = AppConfig.fromEnv();
  const logger = createLogger('gateway', config.logLevel);
  const app = await createGateway(config, logger);
  await listenGateway(app, config);
  logger.info({ url: await app.getUrl(), adapters: config.adapters }, 'gateway listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
