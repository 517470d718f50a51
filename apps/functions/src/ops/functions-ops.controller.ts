import { Controller, Get, Header } from '@nestjs/common';
import { Metrics } from '@mesh/telemetry';

/** The functions process's own liveness and Prometheus metrics. */
@Controller()
export class FunctionsOpsController {
  constructor(private readonly metrics: Metrics) {}

  @Get('healthz')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metricsText(): Promise<string> {
    return this.metrics.render();
  }
}
