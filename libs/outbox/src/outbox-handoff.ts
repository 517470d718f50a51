import { Inject, Injectable } from '@nestjs/common';
import { EventBus, type CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { Outbox } from './outbox.port';

/** How long a change's answer waits for the relay to put its event on Kafka. */
export const HANDOFF_WAIT_MS = 500;
/** How long the answer then gives Kafka to take the event from the gateway itself. */
export const DIRECT_PUBLISH_MS = 800;
/**
 * After a wait ran out (Kafka or the relay is behind), answers do not wait for the
 * relay for this long, so that an outage does not add the bound to every request.
 */
const BEHIND_FOR_MS = 5_000;

/**
 * Holds a change's answer until its event is on Kafka (DESIGN.md, "State,
 * durability and scale"): the 200 then means the change survives even Redis
 * losing its data, since the state is rebuilt from Kafka. Normally the relay
 * confirms within milliseconds. When it cannot (Redis died right after the
 * commit, or the relay is behind), the gateway publishes the event itself: the
 * relay may publish it again later, and consumers skip an event id they have
 * seen. Only when Kafka refuses too (an outage) is the change answered
 * unconfirmed: it is committed, its event waits in the outbox, and it is counted.
 */
@Injectable()
export class OutboxHandoff {
  private behindUntil = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly bus: EventBus,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Resolves once `event` (committed with its change) is on Kafka, or Kafka could not take it; says which. */
  async settle(topic: TopicKey, event: CloudEvent): Promise<boolean> {
    const waitMs = performance.now() < this.behindUntil ? 0 : HANDOFF_WAIT_MS;
    const relayed = await this.outbox.drained(waitMs).catch(() => false);
    if (relayed) {
      this.behindUntil = 0;
      return true;
    }
    if (waitMs > 0) this.behindUntil = performance.now() + BEHIND_FOR_MS;
    try {
      await this.bus.publish(topic, event, { timeoutMs: DIRECT_PUBLISH_MS });
      this.metrics.handoffs.inc({ how: 'direct' });
      return true;
    } catch (err) {
      this.logger.warn({ err, eventId: event.id }, 'a change was answered before its event reached Kafka');
      this.metrics.handoffs.inc({ how: 'unconfirmed' });
      return false;
    }
  }
}
