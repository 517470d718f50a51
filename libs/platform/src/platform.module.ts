import { ArchiveModule } from '@mesh/archive';
import { type DynamicModule, Module } from '@nestjs/common';
import { BusModule } from '@mesh/bus';
import { ClockModule } from '@mesh/clock';
import { ConfigModule, type AppConfig } from '@mesh/config';
import { DispatchModule } from '@mesh/dispatch';
import { GeoModule } from '@mesh/geo';
import { InvocationsModule } from '@mesh/invocations';
import { MediaModule } from '@mesh/media';
import { ObjectsModule } from '@mesh/objects';
import { OutboxModule } from '@mesh/outbox';
import { RealtimeModule } from '@mesh/realtime';
import { RedisModule } from '@mesh/redis';
import { SchedulesModule } from '@mesh/schedules';
import { StreamsModule } from '@mesh/streams';
import { TelemetryModule, type Logger } from '@mesh/telemetry';

/**
 * Every side-effecting adapter a mesh process needs, chosen once from config:
 * Kafka + Redis for `ADAPTERS=real`, in-memory for the embedded default.
 */
@Module({})
export class PlatformModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        TelemetryModule.forRoot(logger),
        RedisModule.forRoot(config),
        BusModule.forRoot(),
        GeoModule.forRoot(config),
        RealtimeModule.forRoot(config),
        OutboxModule.forRoot(config),
        DispatchModule.forRoot(config),
        InvocationsModule.forRoot(config),
        SchedulesModule.forRoot(config),
        StreamsModule.forRoot(config),
        ArchiveModule.forRoot(config),
        ObjectsModule.forRoot(config),
        MediaModule.forRoot(config),
      ],
    };
  }
}
