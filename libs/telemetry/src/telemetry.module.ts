import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { Metrics } from './metrics';

/** Injection token of the process's pino logger. */
export const LOGGER = Symbol('LOGGER');

@Global()
@Module({})
export class TelemetryModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: TelemetryModule,
      providers: [Metrics, { provide: LOGGER, useValue: logger }],
      exports: [Metrics, LOGGER],
    };
  }
}
