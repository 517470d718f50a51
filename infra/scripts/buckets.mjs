// Waits for the S3 gateway and creates the mesh's buckets if missing (idempotent).
// Usage: OBJECT_STORE_URL=… OBJECT_STORE_ACCESS_KEY=… OBJECT_STORE_SECRET_KEY=… node infra/scripts/buckets.mjs [--wait S]
import { parseArgs } from 'node:util';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

const BUCKETS = (process.env.OBJECT_STORE_BUCKETS ?? 'mesh-uploads,mesh-media').split(',');
const { values } = parseArgs({ options: { wait: { type: 'string', default: '30' } } });
const s3 = new S3Client({
  endpoint: process.env.OBJECT_STORE_URL,
  region: process.env.OBJECT_STORE_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.OBJECT_STORE_ACCESS_KEY,
    secretAccessKey: process.env.OBJECT_STORE_SECRET_KEY,
  },
});

const deadline = Date.now() + Number(values.wait) * 1000;
for (const bucket of BUCKETS) {
  for (;;) {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      break;
    } catch (err) {
      const status = err?.$metadata?.httpStatusCode;
      if (status === 404) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        console.error(`[infra] objects: ${bucket}: ${err?.name ?? err}`);
        process.exit(1);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
console.log(`[infra] objects: S3 answering at ${process.env.OBJECT_STORE_URL}; buckets ready: ${BUCKETS.join(', ')}`);
s3.destroy();
