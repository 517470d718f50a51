import {
  type DynamicModule,
  Global,
  Inject,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { EventBus } from './event-bus.port';
import { KafkaEventBus } from './kafka-event-bus';
import { MemoryEventBus } from './memory-event-bus';

/** Provides the EventBus: Kafka for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class BusModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(EventBus) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  static forRoot(): DynamicModule {
    return {
      module: BusModule,
      providers: [
        {
          provide: EventBus,
          inject: [AppConfig, LOGGER],
          useFactory: (config: AppConfig, logger: Logger): EventBus =>
            config.adapters === 'memory' ? new MemoryEventBus() : new KafkaEventBus({ ...config.kafka, logger }),
        },
      ],
      exports: [EventBus],
    };
  }

  /**
   * Topics normally come from `infra:up`; creating missing ones here lets a prefixed deployment start alone.
   * The producer is connected before the process says it is up, so the first requests do not pay for its
   * handshake (its producer id, the partition leaders' metadata).
   */
  async onModuleInit(): Promise<void> {
    if (!(this.bus instanceof KafkaEventBus)) return;
    try {
      await this.bus.ensureTopics();
      await this.bus.warmUp();
    } catch (err) {
      this.logger.warn({ err }, 'could not check the Kafka topics; readiness will tell when Kafka answers');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
