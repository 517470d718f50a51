import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { MeteredBody, ObjectStore, assertKey, type PutOptions, type StoredObject } from './object-store.port';

export interface S3ObjectStoreOptions {
  endpoint: string;
  region: string;
  /** Null: the SDK's default chain (environment, workload identity, …). */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  /** The buckets `ping` checks. */
  buckets: readonly string[];
}

/**
 * Objects in an S3-compatible store (SeaweedFS's S3 gateway here; any S3 in a
 * deployment), through the AWS SDK: a body is streamed in parts (lib-storage's
 * Upload), and a body found too long aborts the upload, so nothing is stored.
 */
export class S3ObjectStore extends ObjectStore {
  private readonly s3: S3Client;

  constructor(private readonly options: S3ObjectStoreOptions) {
    super();
    this.s3 = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: true,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  async put(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
    assertKey(key);
    const metered = new MeteredBody(options.maxBytes);
    body.on('error', (err) => metered.destroy(err));
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: bucket, Key: key, Body: body.pipe(metered), ContentType: options.contentType },
      queueSize: 2,
      partSize: 5 * 1024 * 1024,
      leavePartsOnError: false,
    });
    const done = await upload.done();
    return { bucket, key, version: done.ETag ?? '', size: metered.bytes, contentType: options.contentType };
  }

  async get(bucket: string, key: string): Promise<{ object: StoredObject; body: Readable } | null> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return {
        object: {
          bucket,
          key,
          version: res.ETag ?? '',
          size: res.ContentLength ?? 0,
          contentType: res.ContentType ?? 'application/octet-stream',
        },
        body: res.Body as Readable,
      };
    } catch (err) {
      if (err instanceof NoSuchKey || err instanceof NotFound) return null;
      throw err;
    }
  }

  async head(bucket: string, key: string): Promise<StoredObject | null> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        bucket,
        key,
        version: res.ETag ?? '',
        size: res.ContentLength ?? 0,
        contentType: res.ContentType ?? 'application/octet-stream',
      };
    } catch (err) {
      if (err instanceof NotFound || err instanceof NoSuchKey) return null;
      throw err;
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async keys(bucket: string, prefix: string, limit = 1000): Promise<string[]> {
    const res = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: limit }));
    return (res.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])).sort();
  }

  async ping(): Promise<void> {
    await Promise.all(this.options.buckets.map((b) => this.s3.send(new HeadBucketCommand({ Bucket: b }))));
  }

  close(): Promise<void> {
    this.s3.destroy();
    return Promise.resolve();
  }
}
