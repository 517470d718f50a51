import 'reflect-metadata';
import { AppConfig } from '@mesh/config';
import { onUnhandledRejection } from '@mesh/platform';
import { createLogger } from '@mesh/telemetry';
import { createGateway, listenGateway } from './bootstrap';

async function main(): Promise<void> {
  const config = AppConfig.fromEnv();
  const logger = createLogger('gateway', config.logLevel);
  process.on('unhandledRejection', onUnhandledRejection(logger));
  const app = await createGateway(config, logger);
  await listenGateway(app, config);
  logger.info({ url: await app.getUrl(), adapters: config.adapters }, 'gateway listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
