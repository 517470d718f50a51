import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '@mesh/config';
import type { WorkerMessage } from '@mesh/contracts';
import { onUnhandledRejection, PlatformModule } from '@mesh/platform';
import { createLogger, PinoNestLogger } from '@mesh/telemetry';
import { FunctionsModule } from './functions.module';
import { FunctionsOpsController } from './ops/functions-ops.controller';

@Module({ controllers: [FunctionsOpsController] })
class FunctionsOpsModule {}

async function main(): Promise<void> {
  const config = AppConfig.fromEnv();
  const logger = createLogger('functions', config.logLevel);
  process.on('unhandledRejection', onUnhandledRejection(logger));
  const only = process.env.FUNCTIONS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  // Started by the local scaler ahead of need: loaded and connected, waiting to be told what to run.
  const standby = process.env.FUNCTIONS_STANDBY === '1';
  const app = await NestFactory.create(
    {
      module: class FunctionsRootModule {},
      imports: [PlatformModule.forRoot(config, logger), FunctionsModule.forRoot(only, standby), FunctionsOpsModule],
    },
    { logger: new PinoNestLogger(logger.child({ component: 'nest' })) },
  );
  app.enableShutdownHooks();
  await app.listen(config.functionsPort, config.host);
  logger.info({ url: await app.getUrl(), functions: standby ? 'standby' : (only ?? 'all') }, 'functions running');
  if (standby) process.send?.({ type: 'standing-by' } satisfies WorkerMessage);
}

main().catch((err: unknown) => {
  process.stderr.write(`functions failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
