import { newEvent } from '@mesh/bus';
import { AppConfig, DEFAULT_MARKET } from '@mesh/config';
import { MemoryDispatchStore, newOrder, type StoredOrder } from '@mesh/dispatch';
import { MemoryCourierGeoRepository } from '@mesh/geo';
import { proofRenditionKey, proofUploadKey } from '@mesh/media';
import { FsObjectStore } from '@mesh/objects';
import { MemoryOutbox } from '@mesh/outbox';
import { outboxShards } from '@mesh/redis';
import { oneMarket, phonePhoto, silentLogger } from '@mesh/harness';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { MediaFunction } from './media.function';

const ORDER = '01KB0000000000000000000000';
const [U1, U2] = ['01KB0000000000000000000001', '01KB0000000000000000000002'];

/** The image function on the in-memory dispatch store and a directory of objects. */
describe('the media function', () => {
  let dir: string;
  let store: MemoryDispatchStore;
  let objects: FsObjectStore;
  let media: MediaFunction;
  let outbox: MemoryOutbox;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-media-'));
    const markets = oneMarket();
    outbox = new MemoryOutbox(outboxShards(markets.names));
    store = new MemoryDispatchStore(new MemoryCourierGeoRepository(markets), outbox);
    await store.markBuilt(markets.home, {}, await store.incarnation(markets.home));
    objects = new FsObjectStore(dir);
    const config = AppConfig.fromEnv({ ADAPTERS: 'memory', JWT_SECRET: 'x'.repeat(32) });
    media = new MediaFunction(store, markets, objects, config, silentLogger);
  });
  afterEach(async () => {
    await outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function orderThat(status: StoredOrder['status'], proofUploadId: string | null = null) {
    const placed = newOrder({
      id: ORDER,
      customerId: 'c1',
      place: { pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.53, lng: 13.405 } },
      market: DEFAULT_MARKET,
      now: new Date(),
    }).order.after;
    const proof = proofUploadId
      ? { status: 'processing' as const, photoUrl: null, thumbnailUrl: null, error: null }
      : null;
    await store.restore([
      {
        order: { ...placed, status, courierId: 'k1', version: 5, proof, proofUploadId },
        offer: null,
        deadlineAtMs: null,
      },
    ]);
  }

  async function uploaded(uploadId: string, bytes: Buffer) {
    const object = await objects.put('mesh-uploads', proofUploadKey(ORDER, uploadId), Readable.from([bytes]), {
      contentType: 'image/jpeg',
      maxBytes: 10 * 1024 * 1024,
    });
    const { bucket, key, version, size, contentType } = object;
    return newEvent('object.created', { bucket, key, version, size, contentType }, { source: '/test', key });
  }

  it('makes the renditions, settles the proof ready, and lets the original (GPS and all) go', async () => {
    await orderThat('delivered', U1);
    await media.handle(await uploaded(U1, await phonePhoto()));
    const order = await store.order(ORDER);
    expect(order?.proof).toEqual({ status: 'ready', photoUrl: null, thumbnailUrl: null, error: null });
    expect(order?.proofUploadId).toBe(U1);
    const thumbnail = await objects.get('mesh-media', proofRenditionKey(ORDER, U1, 'thumbnail'));
    const chunks: Buffer[] = [];
    for await (const chunk of thumbnail!.body as AsyncIterable<Buffer>) chunks.push(chunk);
    expect((await sharp(Buffer.concat(chunks)).metadata()).exif).toBeUndefined();
    expect(await objects.keys('mesh-uploads', `proofs/${ORDER}/`)).toEqual([]);
    // Told again (a redelivery): nothing more happens.
    await media.handle(await uploaded(U1, await phonePhoto()));
    expect((await store.order(ORDER))?.version).toBe(order?.version);
  });

  it('records why a photo whose bytes do not decode failed', async () => {
    await orderThat('delivered', U1);
    const photo = await phonePhoto();
    const broken = Buffer.concat([photo.subarray(0, 2_000), Buffer.alloc(20_000, 7)]);
    await media.handle(await uploaded(U1, broken));
    expect((await store.order(ORDER))?.proof).toMatchObject({ status: 'failed', error: expect.any(String) });
  });

  it('passes over a photo a newer one replaced', async () => {
    await orderThat('delivered', U2);
    await media.handle(await uploaded(U1, await phonePhoto()));
    expect((await store.order(ORDER))?.proof?.status).toBe('processing');
    expect(await objects.keys('mesh-media', `proofs/${ORDER}/`)).toEqual([]);
  });

  it('drops a photo whose order was cancelled before its upload was recorded', async () => {
    await orderThat('cancelled');
    await media.handle(await uploaded(U1, await phonePhoto()));
    expect((await store.order(ORDER))?.proof).toBeNull();
    expect(await objects.keys('mesh-uploads', `proofs/${ORDER}/`)).toEqual([]);
    expect(await objects.keys('mesh-media', `proofs/${ORDER}/`)).toEqual([]);
  });
});
