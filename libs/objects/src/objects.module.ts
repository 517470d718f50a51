import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { FsObjectStore } from './fs-object-store';
import { ObjectStore } from './object-store.port';
import { S3ObjectStore } from './s3-object-store';

/** Provides the ObjectStore: S3 (SeaweedFS locally) for `ADAPTERS=real`, a directory for the embedded default. */
@Global()
@Module({})
export class ObjectsModule implements OnApplicationShutdown {
  constructor(@Inject(ObjectStore) private readonly objects: ObjectStore) {}

  static forRoot(config: AppConfig): DynamicModule {
    const { objects } = config;
    return {
      module: ObjectsModule,
      providers: [
        {
          provide: ObjectStore,
          useFactory: () =>
            config.adapters === 'memory'
              ? new FsObjectStore(objects.dir)
              : new S3ObjectStore({
                  endpoint: objects.url,
                  region: objects.region,
                  credentials: objects.credentials,
                  buckets: [objects.uploadsBucket, objects.mediaBucket],
                }),
        },
      ],
      exports: [ObjectStore],
    };
  }

  onApplicationShutdown(): Promise<void> {
    return this.objects.close();
  }
}
