import { Inject, Injectable } from '@nestjs/common';
import { EventBus, type CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { Outbox } from './outbox.port';

/** How long a change's answer waits for the relay to put its event on Kafka. */
export const HANDOFF_WAIT_MS = 500;
/** How long the answer gives Kafka to take the event from the gateway itself, when the relay cannot. */
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
 * confirms within milliseconds.
 * - Redis failed right after the commit (cannot be asked, or came back without
 *   the outbox): the relay never will, so the gateway publishes the event itself.
 *   Should the relay publish it too, consumers skip an event id they have seen.
 * - The relay is behind (Kafka away or slow): the event is safe in the outbox and
 *   will follow; the change is answered after the bound (then without waiting for
 *   a while), counted as unconfirmed. Publishing those too would only pile more
 *   on a Kafka that is already behind. Only losing Redis' data in that state loses one.
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

  /**
   * Resolves once `event` (committed with its change to the outbox `shard`) is on
   * Kafka or safe in the outbox; says whether on Kafka.
   */
  async settle(shard: string, topic: TopicKey, event: CloudEvent): Promise<boolean> {
    const waitMs = performance.now() < this.behindUntil ? 0 : HANDOFF_WAIT_MS;
    let relayed: boolean;
    try {
      relayed = await this.outbox.drained(shard, waitMs);
    } catch (err) {
      return this.publishDirectly(topic, event, err);
    }
    if (relayed) {
      this.behindUntil = 0;
      return true;
    }
    if (waitMs > 0) this.behindUntil = performance.now() + BEHIND_FOR_MS;
    this.metrics.handoffs.inc({ how: 'unconfirmed' });
    return false;
  }

  private async publishDirectly(topic: TopicKey, event: CloudEvent, why: unknown): Promise<boolean> {
    try {
      await this.bus.publish(topic, event, { timeoutMs: DIRECT_PUBLISH_MS });
      this.metrics.handoffs.inc({ how: 'direct' });
      return true;
    } catch (err) {
      this.logger.warn({ err, why, eventId: event.id }, 'a change was answered before its event reached Kafka');
      this.metrics.handoffs.inc({ how: 'unconfirmed' });
      return false;
    }
  }
}
