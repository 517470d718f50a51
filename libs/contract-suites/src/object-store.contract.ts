import { ObjectTooLarge, type ObjectStore } from '@mesh/objects';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { uniqueName } from '@mesh/harness';

export interface ObjectStoreUnderTest {
  store: ObjectStore;
  /** A bucket that exists. */
  bucket: string;
  dispose(): Promise<void>;
}

const MiB = 1024 * 1024;

/** A body that arrives in chunks, as an upload does. */
function chunked(bytes: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    })(),
  );
}

/** The behaviour every ObjectStore adapter must have. Run against each adapter. */
export function objectStoreContract(adapter: string, create: () => Promise<ObjectStoreUnderTest>): void {
  describe(`ObjectStore contract: ${adapter}`, () => {
    let under: ObjectStoreUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    it('stores a streamed body and gives it back byte for byte, with its type, size and version', async () => {
      const key = `proofs/${uniqueName('o')}/photo.jpg`;
      const bytes = randomBytes(6 * MiB + 123); // more than one 5 MiB part
      const put = await under.store.put(under.bucket, key, chunked(bytes), {
        contentType: 'image/jpeg',
        maxBytes: 10 * MiB,
      });
      expect(put).toMatchObject({ bucket: under.bucket, key, size: bytes.length, contentType: 'image/jpeg' });
      expect(put.version).not.toBe('');
      expect(await under.store.head(under.bucket, key)).toEqual(put);
      const got = await under.store.get(under.bucket, key);
      expect(got?.object).toEqual(put);
      expect((await buffer(got!.body)).equals(bytes)).toBe(true);
    });

    it('lists the keys under a prefix, and only those', async () => {
      const base = `proofs/${uniqueName('o')}`;
      const put = (key: string) =>
        under.store.put(under.bucket, key, chunked(Buffer.from(key)), { contentType: 'text/plain', maxBytes: MiB });
      await Promise.all([`${base}/u1/a.jpg`, `${base}/u1/w128.webp`, `${base}/u2`, `${base}x/u3`].map(put));
      expect(await under.store.keys(under.bucket, `${base}/`)).toEqual([
        `${base}/u1/a.jpg`,
        `${base}/u1/w128.webp`,
        `${base}/u2`,
      ]);
      await under.store.delete(under.bucket, `${base}/u1/a.jpg`);
      expect(await under.store.keys(under.bucket, `${base}/`)).toEqual([`${base}/u1/w128.webp`, `${base}/u2`]);
      expect(await under.store.keys(under.bucket, `proofs/${uniqueName('none')}/`)).toEqual([]);
    });

    it('refuses a body over its limit and stores nothing, keeping what was there', async () => {
      const key = `proofs/${uniqueName('o')}/photo.jpg`;
      const first = await under.store.put(under.bucket, key, chunked(Buffer.from('first')), {
        contentType: 'image/png',
        maxBytes: MiB,
      });
      await expect(
        under.store.put(under.bucket, key, chunked(randomBytes(2 * MiB)), { contentType: 'image/png', maxBytes: MiB }),
      ).rejects.toBeInstanceOf(ObjectTooLarge);
      expect(await under.store.head(under.bucket, key)).toEqual(first);
      const fresh = `proofs/${uniqueName('o')}/photo.jpg`;
      await expect(
        under.store.put(under.bucket, fresh, chunked(randomBytes(2 * MiB)), {
          contentType: 'image/png',
          maxBytes: MiB,
        }),
      ).rejects.toBeInstanceOf(ObjectTooLarge);
      expect(await under.store.head(under.bucket, fresh)).toBeNull();
    });

    it('replaces an object with a new version, and forgets a deleted one', async () => {
      const key = `media/${uniqueName('o')}/thumb.webp`;
      const a = await under.store.put(under.bucket, key, chunked(Buffer.from('a')), {
        contentType: 'image/webp',
        maxBytes: MiB,
      });
      const b = await under.store.put(under.bucket, key, chunked(Buffer.from('bb')), {
        contentType: 'image/webp',
        maxBytes: MiB,
      });
      expect(b.version).not.toBe(a.version);
      expect(await under.store.head(under.bucket, key)).toEqual(b);
      await under.store.delete(under.bucket, key);
      expect(await under.store.head(under.bucket, key)).toBeNull();
      expect(await under.store.get(under.bucket, key)).toBeNull();
      await under.store.delete(under.bucket, key); // deleting twice is fine
    });

    it('refuses keys that could leave their bucket', async () => {
      for (const key of ['../etc/passwd', '/abs', 'a/../../b', 'a//b', '']) {
        await expect(
          under.store.put(under.bucket, key, chunked(Buffer.from('x')), { contentType: 'image/png', maxBytes: MiB }),
        ).rejects.toThrow(/not an object key/);
      }
    });
  });
}
