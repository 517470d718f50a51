import { Controller, Get, Headers, Res } from '@nestjs/common';
import { requireMetricsToken } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import { ProblemError, sendProblem } from '@mesh/problem';
import { Metrics } from '@mesh/telemetry';
import type { Response } from 'express';

/** The functions process's own liveness and Prometheus metrics. */
@Controller()
export class FunctionsOpsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  @Get('healthz')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Prometheus text; with METRICS_TOKEN set, only to `Authorization: Bearer <METRICS_TOKEN>`. */
  @Get('metrics')
  async metricsText(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    try {
      requireMetricsToken(this.config.metricsToken, authorization);
    } catch (err) {
      // This process has no problem filter of its own (it serves nothing else that can fail).
      if (!(err instanceof ProblemError)) throw err;
      sendProblem(res, err);
      return;
    }
    res.type('text/plain; version=0.0.4; charset=utf-8').send(await this.metrics.render());
  }
}
