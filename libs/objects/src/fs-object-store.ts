import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MeteredBody, ObjectStore, assertKey, type PutOptions, type StoredObject } from './object-store.port';

/**
 * Objects as files under a directory (the embedded default): `<bucket>/<key>`,
 * with its description beside it in `<key>.meta.json`. A body is written to a
 * temporary file and renamed into place once complete.
 */
export class FsObjectStore extends ObjectStore {
  constructor(private readonly root: string) {
    super();
  }

  async put(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
    const path = this.path(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}.part`;
    const metered = new MeteredBody(options.maxBytes);
    try {
      await pipeline(body, metered, createWriteStream(temp));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    const object: StoredObject = {
      bucket,
      key,
      version: metered.digest(),
      size: metered.bytes,
      contentType: options.contentType,
    };
    await writeFile(`${temp}.meta`, JSON.stringify(object));
    await rename(temp, path);
    await rename(`${temp}.meta`, `${path}.meta.json`);
    return object;
  }

  async get(bucket: string, key: string): Promise<{ object: StoredObject; body: Readable } | null> {
    const object = await this.head(bucket, key);
    return object ? { object, body: createReadStream(this.path(bucket, key)) } : null;
  }

  async head(bucket: string, key: string): Promise<StoredObject | null> {
    try {
      const path = this.path(bucket, key);
      await stat(path);
      return JSON.parse(await readFile(`${path}.meta.json`, 'utf8')) as StoredObject;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    const path = this.path(bucket, key);
    await rm(path, { force: true });
    await rm(`${path}.meta.json`, { force: true });
  }

  async keys(bucket: string, prefix: string, limit = 1000): Promise<string[]> {
    const root = join(this.root, bucket);
    let entries: string[];
    try {
      entries = await readdir(root, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    // An object is a file with its description beside it; temporary parts have none yet.
    const described = new Set(
      entries.filter((e) => e.endsWith('.meta.json')).map((e) => e.slice(0, -'.meta.json'.length)),
    );
    return [...described]
      .map((e) => e.split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort()
      .slice(0, limit);
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private path(bucket: string, key: string): string {
    assertKey(bucket);
    assertKey(key);
    return join(this.root, bucket, key);
  }
}
