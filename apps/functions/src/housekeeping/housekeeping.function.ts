import { Inject, Injectable } from '@nestjs/common';
import { PermanentFailure, type MeshEvent } from '@mesh/bus';
import { InvocationLedger, RECORD_RETENTION_MS } from '@mesh/invocations';
import { LOGGER, type Logger } from '@mesh/telemetry';
import type { MeshFunction } from '../host/mesh-function';

/**
 * The mesh's own scheduled upkeep, one task per schedule (its payload's `task`):
 * `trim-invocation-records` forgets invocation records older than their retention.
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
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(event: MeshEvent<'schedule.fired'>): Promise<void> {
    const { schedule, tickAt, payload } = event.data;
    switch (payload.task) {
      case 'trim-invocation-records': {
        const trimmed = await this.ledger.trimBefore(Date.parse(tickAt) - RECORD_RETENTION_MS);
        this.logger.info({ schedule, tickAt, trimmed }, 'invocation records trimmed');
        return;
      }
      default:
        throw new PermanentFailure(`schedule ${schedule} names no task housekeeping knows: ${String(payload.task)}`);
    }
  }
}
