import { Inject, Injectable } from '@nestjs/common';
import { PermanentFailure, type MeshEvent } from '@mesh/bus';
import { RouteArchive, dispatchReportCsv } from '@mesh/archive';
import { AppConfig } from '@mesh/config';
import { InvocationLedger, RECORD_RETENTION_MS } from '@mesh/invocations';
import { LOGGER, type Logger } from '@mesh/telemetry';
import type { MeshFunction } from '../host/mesh-function';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * The mesh's own scheduled upkeep, one task per schedule (its payload's `task`):
 * - `trim-invocation-records` forgets invocation records older than their retention;
 * - `trim-route-log` forgets the route log's raw rows older than ARCHIVE_RETENTION_DAYS (the reports' rollups stay);
 * - `dispatch-report` reports the hour before its tick: the totals in the log and, with
 *   REPORT_WEBHOOK_URL, the report by area as CSV posted there (a failed post is retried).
 * A schedule naming a task this function does not know is dead-lettered, so the
 * mistake shows in the activations rather than passing silently.
 */
@Injectable()
export class HousekeepingFunction implements MeshFunction<'schedule.fired'> {
  readonly name = 'housekeeping';
  readonly topic = 'schedules';
  readonly accepts = ['schedule.fired'] as const;

  constructor(
    private readonly ledger: InvocationLedger,
    private readonly archive: RouteArchive,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(event: MeshEvent<'schedule.fired'>): Promise<void> {
    const { schedule, tickAt, payload } = event.data;
    const tickMs = Date.parse(tickAt);
    switch (payload.task) {
      case 'trim-invocation-records': {
        const trimmed = await this.ledger.trimBefore(tickMs - RECORD_RETENTION_MS);
        this.logger.info({ schedule, tickAt, trimmed }, 'invocation records trimmed');
        return;
      }
      case 'trim-route-log': {
        const trimmed = await this.archive.trimBefore(tickMs - this.config.archive.retentionDays * DAY_MS);
        this.logger.info({ schedule, tickAt, trimmed }, 'route log trimmed');
        return;
      }
      case 'dispatch-report':
        return this.reportHour(schedule, Math.floor(tickMs / HOUR_MS) * HOUR_MS - HOUR_MS);
      default:
        throw new PermanentFailure(`schedule ${schedule} names no task housekeeping knows: ${String(payload.task)}`);
    }
  }

  private async reportHour(schedule: string, hourMs: number): Promise<void> {
    const rows = await this.archive.dispatchReport({ fromMs: hourMs, toMs: hourMs + HOUR_MS, groupBy: 'area' });
    const [total] = await this.archive.dispatchReport({ fromMs: hourMs, toMs: hourMs + HOUR_MS, groupBy: 'hour' });
    const hour = new Date(hourMs).toISOString();
    this.logger.info({ schedule, hour, areas: rows.length, ...total }, 'dispatch report');
    const url = this.config.archive.reportWebhookUrl;
    if (url === null) return;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/csv; charset=utf-8', 'x-report-hour': hour },
      body: dispatchReportCsv(rows),
      redirect: 'error',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    // The URL may carry a token (a chat webhook's): it is never logged, only where the report went wrong.
    if (!res.ok) throw new Error(`the report webhook answered ${res.status}`);
  }
}
