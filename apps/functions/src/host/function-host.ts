import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { EventBus, type CloudEvent, type MeshEvent, type Subscription } from '@mesh/bus';
import { EVENT_DATA, isEventType } from '@mesh/contracts';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { MESH_FUNCTIONS, type MeshFunction } from './mesh-function';

export const FUNCTION_GROUP_PREFIX = 'mesh.fn.';

/**
 * Runs each function on its topic through its consumer group: validates every
 * event against its contract, invokes the handler, records duration and outcome.
 * A handler that throws gets the event again (the bus redelivers, in order).
 */
@Injectable()
export class FunctionHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly bus: EventBus,
    @Inject(MESH_FUNCTIONS) private readonly functions: MeshFunction[],
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const fn of this.functions) {
      this.subscriptions.push(
        await this.bus.subscribe({
          group: `${FUNCTION_GROUP_PREFIX}${fn.name}`,
          topic: fn.topic,
          handle: (event) => this.invoke(fn, event),
          onMalformed: (reason) => {
            this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'malformed' });
            this.logger.warn({ function: fn.name, reason }, 'skipped a message that is not a CloudEvent');
          },
        }),
      );
      this.logger.info({ function: fn.name, topic: fn.topic }, 'function subscribed');
    }
  }

  /** Stops fetching, lets in-flight events finish and commits, before the adapters close. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((s) => s.close()));
  }

  private async invoke(fn: MeshFunction, event: CloudEvent): Promise<void> {
    const log = this.logger.child({ function: fn.name, eventId: event.id, type: event.type });
    if (!isEventType(event.type) || !fn.accepts.includes(event.type)) {
      this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'ignored' });
      return;
    }
    const data = EVENT_DATA[event.type].safeParse(event.data);
    if (!data.success) {
      this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'invalid' });
      log.warn({ issues: data.error.issues }, 'skipped an event whose data breaks its contract');
      return;
    }
    const stop = this.metrics.functionDuration.startTimer({ function: fn.name });
    try {
      await fn.handle({ ...event, data: data.data } as MeshEvent);
      this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'ok' });
      this.metrics.eventAge.observe({ function: fn.name }, (Date.now() - Date.parse(event.time)) / 1000);
    } catch (err) {
      this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'error' });
      log.error({ err }, 'function failed; the event will be delivered again');
      throw err;
    } finally {
      stop();
    }
  }
}
