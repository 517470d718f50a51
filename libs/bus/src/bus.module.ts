import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { EventBus } from './event-bus.port';
import { KafkaEventBus } from './kafka-event-bus';
import { MemoryEventBus } from './memory-event-bus';

/** Provides the EventBus: Kafka for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class BusModule implements OnApplicationShutdown {
  constructor(@Inject(EventBus) private readonly bus: EventBus) {}

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

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
