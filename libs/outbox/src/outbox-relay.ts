import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { hostname } from 'node:os';
import { EventBus, redeliveryDelay } from '@mesh/bus';
import { newId } from '@mesh/contracts';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { Outbox } from './outbox.port';

export interface RelayTiming {
  /** How long the lease lasts unless renewed: the longest a dead relay's successor waits. */
  leaseMs: number;
  /** A read waits this long for new entries before the lease is renewed (well under `leaseMs`). */
  waitMs: number;
  batch: number;
}

export const RELAY_TIMING = Symbol('RELAY_TIMING');
/** A relay that failed (Redis or Kafka away) tries again at least this often, so it resumes soon after they return. */
const MAX_RETRY_MS = 1_000;
const DEFAULT_TIMING: RelayTiming = { leaseMs: 2_000, waitMs: 300, batch: 500 };

/**
 * Puts the outbox on Kafka: reads each shard's entries in commit order, publishes
 * them (the bus keeps one key's events in order), removes them once Kafka has them,
 * and retries with backoff while Kafka is away. Every process runs one; per shard,
 * the lease lets one relay at a time, and another takes over within `leaseMs` of
 * its death (so the shards of one deployment may be relayed by different processes),
 * or at once when it fails (it gives the lease up and waits before trying again).
 * A relay that dies between publishing and removing publishes those entries
 * again: same event ids, which consumers skip (the function host's ledger).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Names the process, for whoever reads a stuck lease (its host and pid), and this run of the relay. */
  private readonly holder = `relay ${hostname()}/${process.pid} ${newId()}`;
  private readonly timing: RelayTiming;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly bus: EventBus,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(RELAY_TIMING) timing?: RelayTiming,
  ) {
    this.timing = timing ?? DEFAULT_TIMING;
  }

  onApplicationBootstrap(): void {
    this.loops = this.outbox.shards.map((shard) => this.run(shard));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.outbox.close();
    await Promise.all(this.loops);
    await Promise.all(
      this.outbox.shards.map((shard) => this.outbox.release(shard, this.holder).catch(() => undefined)),
    );
  }

  private async run(shard: string): Promise<void> {
    let failures = 0;
    let leased = false;
    while (!this.stopped) {
      try {
        const held = await this.outbox.lease(shard, this.holder, this.timing.leaseMs);
        if (held !== leased)
          this.logger.info({ shard }, held ? 'relaying an outbox shard' : 'another relay has the shard');
        leased = held;
        if (held) {
          await this.relayWhileLeased(shard);
        } else {
          await pause(this.timing.waitMs);
        }
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.logger.warn({ err, failures, shard }, 'outbox relay failed; retrying');
        // The shard is free meanwhile: a failure that is this process' own (its connection to Kafka or
        // Redis broken) must not hold the shard up for every process while it lasts.
        if (leased) await this.outbox.release(shard, this.holder).catch(() => undefined);
        leased = false;
        await pause(Math.min(MAX_RETRY_MS, redeliveryDelay(failures)));
      }
    }
  }

  /** Relays until the lease is due for renewal (then the caller renews it) or the relay stops. */
  private async relayWhileLeased(shard: string): Promise<void> {
    const renewBy = performance.now() + this.timing.leaseMs / 3;
    let after = '';
    while (!this.stopped && performance.now() < renewBy) {
      const entries = await this.outbox.read(shard, after, this.timing.batch, this.timing.waitMs);
      if (entries.length === 0) continue;
      // One publish per entry, made in the same tick: the Kafka bus sends them as one ordered batch.
      await Promise.all(entries.map((entry) => this.bus.publish(entry.topic, entry.event)));
      for (const entry of entries) this.metrics.eventsPublished.inc({ topic: entry.topic });
      await this.outbox.remove(
        shard,
        entries.map((entry) => entry.id),
      );
      after = entries.at(-1)?.id ?? after;
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
