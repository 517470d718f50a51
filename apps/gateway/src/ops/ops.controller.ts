import { Controller, Get, Header, Headers, HttpCode, Inject, Res } from '@nestjs/common';
import { requireMetricsToken } from '@mesh/auth';
import { EventBus } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { DispatchStore, everyMarketVerified } from '@mesh/dispatch';
import { CourierGeoRepository, Markets } from '@mesh/geo';
import { PROBLEM_CONTENT_TYPE } from '@mesh/problem';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';

const CHECK_TIMEOUT_MS = 1_500;

/** Liveness, readiness (Kafka and Redis really answer, and the dispatch state is there) and Prometheus metrics. */
@Controller()
@Public()
export class OpsController {
  constructor(
    @Inject(EventBus) private readonly bus: EventBus,
    private readonly couriers: CourierGeoRepository,
    private readonly store: DispatchStore,
    private readonly markets: Markets,
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(@Res() res: Response): Promise<void> {
    const [kafka, redis] = await Promise.all([check(() => this.bus.ping()), check(() => this.couriers.ping())]);
    // With Redis up: is its dispatch state there, or still being rebuilt from the log (Redis came back empty, restarted, or a replica took over)?
    const state =
      redis.status === 'up'
        ? await check(async () => {
            if (!(await everyMarketVerified(this.store, this.markets)))
              throw new Error('being rebuilt from the event log');
          })
        : undefined;
    const found = { kafka, redis, ...(state ? { state } : {}) };
    const down = Object.entries(found).filter(([, c]) => c.status === 'down');
    // Which dependency is down is public; why (addresses, ports) goes to the log only.
    const checks = Object.fromEntries(Object.entries(found).map(([name, c]) => [name, { status: c.status }]));
    if (down.length === 0) {
      res.status(200).json({ status: 'ready', checks });
      return;
    }
    this.logger.warn({ down: Object.fromEntries(down.map(([name, c]) => [name, c.error])) }, 'not ready');
    res
      .status(503)
      .type(PROBLEM_CONTENT_TYPE)
      .send(
        JSON.stringify({
          type: '/problems/dependency-down',
          title: 'Service unavailable',
          status: 503,
          detail: `Not ready: ${down.map(([name]) => name).join(' and ')} down.`,
          checks,
        }),
      );
  }

  /** Prometheus text; with METRICS_TOKEN set, only to `Authorization: Bearer <METRICS_TOKEN>` (API.md "Operations"). */
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metricsText(@Headers('authorization') authorization: string | undefined): Promise<string> {
    requireMetricsToken(this.config.metricsToken, authorization);
    return this.metrics.render();
  }
}

async function check(probe: () => Promise<void>): Promise<{ status: 'up' | 'down'; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
