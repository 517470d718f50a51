import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { Outbox } from './outbox.port';

/** How long a change's answer waits for its event to reach Kafka. */
export const HANDOFF_WAIT_MS = 500;
/**
 * After a wait ran out (Kafka or the relay is behind), answers only look, without
 * waiting, for this long, so that an outage does not add the bound to every request.
 */
const BEHIND_FOR_MS = 5_000;

/**
 * Holds a change's answer until the relay has put the change's event on Kafka
 * (DESIGN.md, "State, durability and scale"): the 200 then means the change
 * survives even Redis losing its data, because the state is rebuilt from Kafka.
 * Bounded: while Kafka is away the change is answered anyway (it is committed
 * and its event waits in the outbox), and counted.
 */
@Injectable()
export class OutboxHandoff {
  private behindUntil = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Waits, within the bound, until everything committed so far is on Kafka; says whether it is. */
  async settle(): Promise<boolean> {
    const waitMs = performance.now() < this.behindUntil ? 0 : HANDOFF_WAIT_MS;
    const relayed = await this.outbox.drained(waitMs).catch((err: unknown) => {
      this.logger.warn({ err }, 'could not learn whether the outbox reached Kafka');
      return false;
    });
    if (relayed) {
      this.behindUntil = 0;
    } else {
      this.metrics.answersBeforeKafka.inc();
      if (waitMs > 0) this.behindUntil = performance.now() + BEHIND_FOR_MS;
    }
    return relayed;
  }
}
