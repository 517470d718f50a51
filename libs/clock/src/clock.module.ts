import { Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock';

/** The process's clock (the system's); a test module overrides the `Clock` provider with a `FixedClock`. */
@Global()
@Module({ providers: [{ provide: Clock, useClass: SystemClock }], exports: [Clock] })
export class ClockModule {}
