import { type Abstract, type INestApplicationContext, Module, type Provider, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventBus, type CloudEvent } from '@mesh/bus';
import { Clock, FixedClock } from '@mesh/clock';
import { AppConfig } from '@mesh/config';
import type { LatLng, TopicKey } from '@mesh/contracts';
import { DispatchStore } from '@mesh/dispatch';
import { CourierGeoRepository, Markets } from '@mesh/geo';
import { Outbox } from '@mesh/outbox';
import { PlatformModule } from '@mesh/platform';
import { silentLogger } from './silent-logger';

/** The relay moves an event within milliseconds; past this, it is stuck and the test says so. */
const RELAY_DEADLINE_MS = 2_000;
const CLOCK_START = '2040-01-01T12:00:00.000Z';

@Module({})
class MemoryPlatformTestModule {}

/** Services as the apps wire them, on the in-memory adapters, with a clock the test moves. */
export interface MemoryPlatform {
  readonly clock: FixedClock;
  readonly config: AppConfig;
  get<T>(token: Type<T> | Abstract<T>): T;
  /** Brings a courier online and available at `position`, with a fix taken now by the clock. */
  courierAt(courierId: string, position: LatLng): Promise<void>;
  /**
   * The events on `topic`'s partitions (each in order) once the outbox relay has put
   * every committed change's event on the bus.
   */
  published(topic: TopicKey): Promise<CloudEvent[]>;
  close(): Promise<void>;
}

/**
 * Starts `providers` over `PlatformModule` with `ADAPTERS=memory` (plus `env`), the
 * dispatch state built as the state rebuilder leaves it, and a FixedClock: the
 * module's own `Clock` provider wins over the global ClockModule's.
 */
export async function startMemoryPlatform(
  providers: Provider[],
  env: Record<string, string> = {},
): Promise<MemoryPlatform> {
  const config = AppConfig.fromEnv({ ADAPTERS: 'memory', JWT_SECRET: 'x'.repeat(32), ...env });
  // Years from the wall clock, so that a decision still taken on Date.now() shows in the test.
  const clock = new FixedClock(CLOCK_START);
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    {
      module: MemoryPlatformTestModule,
      imports: [PlatformModule.forRoot(config, silentLogger)],
      providers: [...providers, { provide: Clock, useValue: clock }],
    },
    { logger: false },
  );
  const store = app.get(DispatchStore);
  for (const market of app.get(Markets).names) {
    await store.markBuilt(market, {}, await store.incarnation(market));
  }
  const couriers = app.get(CourierGeoRepository);
  const outbox = app.get(Outbox);
  return {
    clock,
    config,
    get: (token) => app.get(token),
    async courierAt(courierId, position) {
      await couriers.setAvailability(courierId, true);
      await couriers.recordLocation(courierId, { ...position, at: clock.now().toISOString() });
    },
    async published(topic) {
      const relayed = await Promise.all(outbox.shards.map((shard) => outbox.drained(shard, RELAY_DEADLINE_MS)));
      if (!relayed.every(Boolean)) throw new Error(`the outbox was not relayed within ${RELAY_DEADLINE_MS} ms`);
      const events: CloudEvent[] = [];
      await app.get(EventBus).replay(topic, 'earliest', (event) => events.push(event));
      return events;
    },
    close: () => app.close(),
  };
}
