import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';

/** An object as stored; its version names what the last put wrote under its key (S3's ETag, a file's SHA-256). */
export interface StoredObject {
  bucket: string;
  key: string;
  version: string;
  size: number;
  contentType: string;
}

export interface PutOptions {
  contentType: string;
  /** Bytes at most; a longer body is refused with ObjectTooLarge and nothing is stored. */
  maxBytes: number;
}

/** A body was longer than allowed: nothing was stored. */
export class ObjectTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the body is larger than ${maxBytes} bytes`);
    this.name = 'ObjectTooLarge';
  }
}

/**
 * Object storage (S3-compatible, or a directory for the embedded default):
 * bodies go in and out as streams, never whole in memory. A put replaces what
 * was under its key only once the whole body is in.
 */
export abstract class ObjectStore {
  abstract put(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject>;
  abstract get(bucket: string, key: string): Promise<{ object: StoredObject; body: Readable } | null>;
  abstract head(bucket: string, key: string): Promise<StoredObject | null>;
  abstract delete(bucket: string, key: string): Promise<void>;
  /** The keys under `prefix` (a whole path: `a/b/` lists `a/b/…`), in key order, at most `limit`. */
  abstract keys(bucket: string, prefix: string, limit?: number): Promise<string[]>;
  /** Whether the store answers and its buckets exist (the readiness probe). */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}

/**
 * Passes a body through, counting and hashing it, and fails it with
 * ObjectTooLarge as soon as it passes `maxBytes`.
 */
export class MeteredBody extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(new ObjectTooLarge(this.maxBytes));
    this.hash.update(chunk);
    done(null, chunk);
  }

  /** The SHA-256 of what passed (hex), once the body has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Object keys are the project's own (ids and fixed names): nothing that could climb out of a bucket or directory. */
export function assertKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(key) || key.length > 512) {
    throw new Error(`not an object key: ${JSON.stringify(key)}`);
  }
}
