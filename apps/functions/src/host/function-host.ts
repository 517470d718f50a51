import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import {
  DependencyUnavailable,
  EventBus,
  PermanentFailure,
  type CloudEvent,
  type Delivery,
  type MeshEvent,
  type Subscription,
} from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { StateUnavailable } from '@mesh/dispatch';
import { isRedisUnavailable } from '@mesh/redis';
import { EVENT_DATA, functionGroup, isActivation, isEventType, type WorkerMessage } from '@mesh/contracts';
import { IDEMPOTENCY_WINDOW_MS, InvocationLedger, type InvocationOutcome } from '@mesh/invocations';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { MESH_FUNCTIONS, type MeshFunction } from './mesh-function';
import { RepeatingTask } from './repeating-task';
import { STANDBY } from './standby';

/**
 * How long a worker's claim on an event it is handling lasts unless renewed; a
 * killed worker's events are free again this long after its last renewal. A live
 * worker renews its claims every CLAIM_RENEW_MS, however long its handlers run.
 */
const CLAIM_LEASE_MS = 4_000;
const CLAIM_RENEW_MS = 1_000;
const CLAIM_POLL_MS = 200;
/** How often a worker reads its functions' consumer lag into `mesh_consumer_lag` (what KEDA scales by). */
export const LAG_REPORT_INTERVAL_MS = 5_000;

/**
 * The one runtime every function gets. Each function consumes its topic through
 * its own consumer group; the runtime validates every event against its contract,
 * skips events the function already handled (by CloudEvent id), retries failures
 * with exponential backoff, dead-letters an event after the last attempt (or at
 * once when it breaks its contract) and goes on, and records every invocation.
 * On shutdown it stops fetching, finishes in-flight events and commits.
 */
@Injectable()
export class FunctionHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];
  private lagReport: RepeatingTask | undefined;
  /** The events this worker has claimed and is handling, by function (their claims are renewed). */
  private readonly claimed = new Set<string>();
  private claimRenewal: RepeatingTask | undefined;
  private firstEventHandled = false;
  /** When a standby worker was told what to run (performance.now()); null for a worker started for its functions. */
  private activatedAt: number | null = null;

  constructor(
    private readonly bus: EventBus,
    @Inject(MESH_FUNCTIONS) private readonly functions: MeshFunction[],
    private readonly ledger: InvocationLedger,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(STANDBY) private readonly standby: boolean = false,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.standby) this.awaitActivation();
    else await this.host(this.functions);
  }

  /**
   * A standby worker has everything loaded and connected but consumes nothing
   * until its scaler names the functions it is to run (over the IPC channel).
   * Joining a consumer group is then all that stands between a scale-out and
   * the first event, instead of a whole process start.
   */
  private awaitActivation(): void {
    const onMessage = (message: unknown) => {
      if (!isActivation(message)) return;
      process.off('message', onMessage);
      void this.activate(message.functions);
    };
    process.on('message', onMessage);
  }

  private async activate(names: readonly string[]): Promise<void> {
    this.activatedAt = performance.now();
    const chosen = this.functions.filter((fn) => names.includes(fn.name));
    const reply = (message: WorkerMessage) => process.send?.(message);
    if (chosen.length !== names.length || chosen.length === 0) {
      this.logger.error({ names }, 'asked to run functions this worker does not have');
      reply({ type: 'activation-failed' });
      return;
    }
    try {
      await this.host(chosen);
      reply({ type: 'activated' });
    } catch (err) {
      this.logger.error({ err, names }, 'could not start the functions');
      reply({ type: 'activation-failed' });
    }
  }

  private async host(functions: readonly MeshFunction[]): Promise<void> {
    for (const fn of functions) {
      this.subscriptions.push(
        await this.bus.subscribe({
          group: functionGroup(fn.name),
          topic: fn.topic,
          maxAttempts: this.config.functions.maxAttempts,
          concurrency: this.config.functions.concurrency,
          // The other types on the topic (another function's) are passed over without decoding them.
          types: fn.accepts,
          ...(fn.fetchIntervalMs !== undefined ? { fetchIntervalMs: fn.fetchIntervalMs } : {}),
          handle: (event, delivery) =>
            this.invoke(fn, event, delivery).catch((err: unknown) => {
              // Redis away is an outage, not the event's fault: it waits for Redis, never dead-lettered for it.
              throw isOutage(err) ? new DependencyUnavailable(err) : err;
            }),
          ...(fn.onAssigned
            ? {
                onAssigned: (partitions: readonly number[]) =>
                  fn.onAssigned!((key) => partitions.includes(this.bus.partitionOf(fn.topic, key))).catch(
                    (err: unknown) => this.logger.error({ err, function: fn.name }, 'taking up owned work failed'),
                  ),
              }
            : {}),
          onMalformed: (reason) => {
            this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'dead-lettered' });
            this.logger.warn({ function: fn.name, reason }, 'dead-lettered a message that is not a CloudEvent');
          },
        }),
      );
      this.logger.info({ function: fn.name, topic: fn.topic }, 'function subscribed');
      await fn.onHosted?.().catch((err: unknown) => this.logger.error({ err, function: fn.name }, 'resuming failed'));
    }
    this.lagReport = new RepeatingTask(
      () => this.reportLag(functions),
      LAG_REPORT_INTERVAL_MS,
      (err) => this.logger.warn({ err }, 'consumer lag not read'),
    );
    this.lagReport.start(0);
    this.claimRenewal = new RepeatingTask(
      () => this.renewClaims(),
      CLAIM_RENEW_MS,
      (err) => this.logger.warn({ err }, 'claims not renewed'),
    );
    this.claimRenewal.start();
  }

  private async renewClaims(): Promise<boolean> {
    await Promise.all(
      [...this.claimed].map((entry) => {
        const [fn, eventId] = entry.split('\u0000') as [string, string];
        return this.ledger.extend(fn, eventId, CLAIM_LEASE_MS);
      }),
    );
    return false;
  }

  /**
   * Each hosted function's lag as its group has committed it (the figure KEDA and the
   * local scaler read), so Prometheus sees what scaling sees. Every replica reports the
   * same group's figure; a query takes the max by group.
   */
  private async reportLag(functions: readonly MeshFunction[]): Promise<boolean> {
    for (const fn of functions) {
      const group = functionGroup(fn.name);
      this.metrics.consumerLag.set({ group, topic: fn.topic }, await this.bus.consumerLag(group, fn.topic));
    }
    return false;
  }

  /** Stops fetching, lets in-flight events finish and commits, before the adapters close. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.lagReport?.stop();
    await Promise.all(this.subscriptions.splice(0).map((s) => s.close()));
    // Renewed until the events in flight have finished.
    await this.claimRenewal?.stop();
  }

  private async invoke(fn: MeshFunction, event: CloudEvent, delivery: Delivery): Promise<void> {
    // The bus hands over only the function's own types (`types` above); an unknown type has no contract to check.
    if (!isEventType(event.type)) return;
    const startedAt = new Date();
    const data = EVENT_DATA[event.type].safeParse(event.data);
    if (!data.success) {
      const error = `data breaks the ${event.type} contract: ${data.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      await this.done(fn, event, delivery, startedAt, 'dead-lettered', error);
      throw new PermanentFailure(error);
    }
    const ledger = (fn.idempotency ?? 'ledger') === 'ledger';
    if (ledger && (await this.claim(fn, event)) === 'done') {
      this.metrics.functionInvocations.inc({ function: fn.name, outcome: 'duplicate' });
      return;
    }
    const stop = this.metrics.functionDuration.startTimer({ function: fn.name });
    const claim = `${fn.name}\u0000${event.id}`;
    if (ledger) this.claimed.add(claim);
    try {
      await fn.handle({ ...event, data: data.data } as MeshEvent);
    } catch (err) {
      if (ledger) await this.ledger.release(fn.name, event.id).catch(() => undefined);
      const last =
        !isOutage(err) &&
        (delivery.failures + 1 >= this.config.functions.maxAttempts || err instanceof PermanentFailure);
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      await this.done(fn, event, delivery, startedAt, last ? 'dead-lettered' : 'error', error);
      if (!last) this.logger.warn({ function: fn.name, eventId: event.id, err }, 'function failed; retrying');
      throw err;
    } finally {
      this.claimed.delete(claim);
      stop();
    }
    if (!this.firstEventHandled) {
      this.firstEventHandled = true;
      // What the scaler measures a new replica by: process start (or a standby's activation) → first event handled.
      this.logger.info(
        {
          function: fn.name,
          uptimeMs: Math.round(process.uptime() * 1000),
          ...(this.activatedAt !== null ? { sinceActivationMs: Math.round(performance.now() - this.activatedAt) } : {}),
        },
        'first event handled',
      );
    }
    // An outside producer's event may carry no time; its age is then unknown, not zero.
    if (event.time !== undefined) {
      this.metrics.eventAge.observe({ function: fn.name }, (Date.now() - Date.parse(event.time)) / 1000);
    }
    // Completed and recorded together: one round trip to Redis for both, not one after the other.
    await Promise.all([
      ledger ? this.ledger.complete(fn.name, event.id, IDEMPOTENCY_WINDOW_MS) : undefined,
      this.done(fn, event, delivery, startedAt, delivery.attempt > 1 ? 'retried' : 'ok', null),
    ]);
  }

  /**
   * Claims the event, waiting while another worker holds it: after a rebalance the
   * previous owner may still be finishing it (it ends `done`), or it was killed (its
   * lease runs out). Waiting does not count as a failed attempt.
   */
  private async claim(fn: MeshFunction, event: CloudEvent): Promise<'run' | 'done'> {
    for (;;) {
      const claim = await this.ledger.claim(fn.name, event.id, CLAIM_LEASE_MS);
      if (claim !== 'busy') return claim;
      await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
    }
  }

  private async done(
    fn: MeshFunction,
    event: CloudEvent,
    delivery: Delivery,
    startedAt: Date,
    outcome: InvocationOutcome,
    error: string | null,
  ): Promise<void> {
    this.metrics.functionInvocations.inc({ function: fn.name, outcome });
    if ((fn.records ?? 'all') === 'failures' && error === null) return;
    await this.ledger
      .record({
        function: fn.name,
        eventId: event.id,
        eventType: event.type,
        attempt: delivery.attempt,
        startedAt: startedAt.toISOString(),
        durationMs: Date.now() - startedAt.getTime(),
        outcome,
        error,
      })
      .catch((err: unknown) => this.logger.warn({ err, function: fn.name }, 'could not record an invocation'));
  }
}

/** Redis away, or its state lost and not yet rebuilt: the event waits for it, it is not at fault. */
function isOutage(err: unknown): boolean {
  return isRedisUnavailable(err) || err instanceof StateUnavailable;
}
