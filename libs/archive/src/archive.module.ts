import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { MemoryRouteArchive } from './memory-route-archive';
import { PgRouteArchive } from './pg-route-archive';
import { RouteArchive } from './route-archive.port';

/** Provides the RouteArchive: PostgreSQL for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class ArchiveModule implements OnApplicationShutdown {
  constructor(@Inject(RouteArchive) private readonly archive: RouteArchive) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ArchiveModule,
      providers: [
        {
          provide: RouteArchive,
          useFactory: () =>
            config.adapters === 'memory'
              ? new MemoryRouteArchive()
              : new PgRouteArchive({ url: config.archive.url, schema: config.archive.schema }),
        },
      ],
      exports: [RouteArchive],
    };
  }

  onApplicationShutdown(): Promise<void> {
    return this.archive.close();
  }
}
