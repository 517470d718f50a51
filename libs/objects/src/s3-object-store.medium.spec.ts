import { objectStoreContract } from '@mesh/contract-suites';
import { S3ObjectStore } from './s3-object-store';

// The local SeaweedFS that `infra:up` starts, with its development credentials (infra/scripts/infra.sh).
objectStoreContract('S3 (SeaweedFS)', () => {
  const store = new S3ObjectStore({
    endpoint: process.env.OBJECT_STORE_URL ?? 'http://127.0.0.1:8333',
    region: 'us-east-1',
    credentials: {
      accessKeyId: process.env.OBJECT_STORE_ACCESS_KEY ?? 'mesh-local',
      secretAccessKey: process.env.OBJECT_STORE_SECRET_KEY ?? 'mesh-local-secret-not-for-production',
    },
    buckets: ['mesh-uploads'],
  });
  return Promise.resolve({ store, bucket: 'mesh-uploads', dispose: () => store.close() });
});
