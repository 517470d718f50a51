import { NotFoundError, type Photo } from '@mesh/client';
import { AppConfig } from '@mesh/config';
import type { ProofView } from '@mesh/contracts';
import { ProofLinks } from '@mesh/media';
import { S3ObjectStore } from '@mesh/objects';
import {
  LOCAL_OBJECT_STORE,
  eventually,
  freePort,
  objectStoreServer,
  phonePhoto,
  pngBomb,
  startStack,
  type RunningStack,
} from '@mesh/harness';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exifReader from 'exif-reader';
import sharp, { type Region } from 'sharp';
import { DispatchWorld, somewhere, type Actor } from './support/dispatch-world';

const MiB = 1024 * 1024;

/**
 * Proof of delivery as the apps live it, on the real stack: the courier's photo
 * streamed to the real object store (SeaweedFS), its object-created event on
 * Kafka, the image function's renditions, and the customer told on their socket.
 */
describe('proof of delivery photos (real object store, Kafka, Redis; separate processes)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;
  let uploads: S3ObjectStore;

  beforeAll(async () => {
    stack = await startStack();
    uploads = new S3ObjectStore({
      endpoint: 'http://127.0.0.1:8333',
      region: 'us-east-1',
      credentials: {
        accessKeyId: LOCAL_OBJECT_STORE.OBJECT_STORE_ACCESS_KEY,
        secretAccessKey: LOCAL_OBJECT_STORE.OBJECT_STORE_SECRET_KEY,
      },
      buckets: ['mesh-uploads', 'mesh-media'],
    });
  });
  afterAll(async () => {
    await uploads?.close();
    await stack?.stop();
  });
  beforeEach(() => {
    world = new DispatchWorld(stack);
  });
  afterEach(() => world.close());

  /** An order taken by a courier (assigned, or further along), its customer watching it. */
  async function takenOrder(until: 'assigned' | 'picked_up' | 'delivered') {
    const taken = await world.takenOrder(until);
    await taken.customer.live.watchOrder(taken.orderId);
    return taken;
  }

  const jpeg = (data: Buffer): Photo => ({ data, contentType: 'image/jpeg' });

  /** One upload as the gateway answered it, whatever its status: for refusals, whose media type is checked too. */
  async function attempt(
    who: Actor,
    orderId: string,
    data: Buffer | ReadableStream<Uint8Array>,
    contentType = 'image/jpeg',
  ) {
    const res = await who.client.http.send({
      method: 'PUT',
      path: `/v1/orders/${orderId}/proof`,
      body: { data, contentType },
    });
    return { status: res.status, type: res.headers.get('content-type') };
  }

  /** The same, its body streamed as it is read, without a Content-Length. */
  const attemptStreamed = (who: Actor, orderId: string, body: ReadableStream<Uint8Array>) =>
    attempt(who, orderId, body);

  /** What the uploads and media buckets hold for the order. */
  const stored = async (orderId: string) => [
    ...(await uploads.keys('mesh-uploads', `proofs/${orderId}/`)),
    ...(await uploads.keys('mesh-media', `proofs/${orderId}/`)),
  ];

  const fetchImage = async (url: string) => {
    const res = await fetch(`${stack.baseUrl}${url}`);
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  };

  it('takes a courier’s photo to a stripped thumbnail and a watermarked photo, pushed to the customer', async () => {
    const { orderId, customer, courier } = await takenOrder('delivered');
    const original = await phonePhoto();
    expect(exifReader((await sharp(original).metadata()).exif as Buffer).GPSInfo).toBeDefined();

    const accepted = await courier.client.orders.uploadProof(orderId, jpeg(original));
    expect(accepted.proof).toEqual({ status: 'processing', photoUrl: null, thumbnailUrl: null, error: null });

    const pushed = await customer.inbox.next('order.updated', (o) => o.id === orderId && o.proof?.status === 'ready');
    const proof = pushed.proof as ProofView;
    expect(proof.thumbnailUrl).toMatch(new RegExp(`^/v1/orders/${orderId}/proof/[0-9A-Z]{26}/w128\\.webp\\?token=`));

    const thumbnail = await fetchImage(proof.thumbnailUrl!);
    expect([thumbnail.status, thumbnail.type]).toEqual([200, 'image/webp']);
    const small = await sharp(thumbnail.body).metadata();
    expect(small.format).toBe('webp');
    expect(Math.max(small.width ?? 0, small.height ?? 0)).toBeLessThanOrEqual(128);
    expect(small.exif).toBeUndefined();

    // The watermark: the full-size photo's lower right corner differs from the original's; elsewhere it does not.
    const photo = await fetchImage(proof.photoUrl!);
    expect([photo.status, photo.type]).toEqual([200, 'image/jpeg']);
    expect((await sharp(photo.body).metadata()).exif).toBeUndefined();
    const upright = await sharp(original).rotate().toBuffer();
    const mean = async (image: Buffer, region: Region) =>
      (await sharp(await sharp(image).extract(region).png().toBuffer()).stats()).channels
        .slice(0, 3)
        .map((c) => c.mean);
    const distance = async (region: Region) => {
      const [a, b] = await Promise.all([mean(upright, region), mean(photo.body, region)]);
      return Math.hypot(...a.map((v, i) => v - (b[i] as number)));
    };
    expect(await distance({ left: 700, top: 1180, width: 90, height: 12 })).toBeGreaterThan(60);
    expect(await distance({ left: 100, top: 700, width: 200, height: 200 })).toBeLessThan(6);

    // Whoever may see the order gets the URLs too; a stranger gets neither the order nor a way to the photo.
    const fresh = await customer.client.orders.get(orderId);
    expect(fresh.proof?.status).toBe('ready');
    expect((await fetchImage(fresh.proof!.thumbnailUrl!)).status).toBe(200);
    const stranger = await world.actor('stranger', ['customer', 'courier']);
    await expect(stranger.client.orders.get(orderId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a photo URL whose token is expired, forged, or for another photo', async () => {
    const { orderId, customer, courier } = await takenOrder('picked_up');
    await courier.client.orders.uploadProof(orderId, jpeg(await phonePhoto()));
    const ready = await customer.inbox.next('order.updated', (o) => o.id === orderId && o.proof?.status === 'ready');
    const url = ready.proof!.thumbnailUrl!;
    const uploadId = url.split('/')[5] as string;

    // Signed with the stack's own key, but an hour ago: expired.
    const links = new ProofLinks(AppConfig.fromEnv(stack.env).playback.secret, 900);
    const expired = links.view(orderId, uploadId, ready.proof, Date.now() - 3_600_000)!.thumbnailUrl!;
    const token = url.slice(url.indexOf('token=') + 6);
    const other = await takenOrder('picked_up');
    const refused = [
      expired,
      url.replace(/token=.*/, 'token=zzzzzz.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      url.replace(/token=.*/, ''),
      // This photo's token on another order's path.
      `/v1/orders/${other.orderId}/proof/${uploadId}/w128.webp?token=${token}`,
    ];
    for (const bad of refused) {
      const res = await fetch(`${stack.baseUrl}${bad}`);
      expect([bad, res.status, res.headers.get('content-type')]).toEqual([
        bad,
        403,
        'application/problem+json; charset=utf-8',
      ]);
    }
    expect((await fetchImage(url)).status).toBe(200);
  });

  it('refuses what is not a photo, too large, a bomb, someone else’s order, or too early, and stores nothing', async () => {
    const { orderId, courier } = await takenOrder('assigned');
    const photo = await phonePhoto();
    // Before pick-up: 409.
    const early = await attempt(courier, orderId, photo);
    expect([early.status, early.type]).toEqual([409, 'application/problem+json; charset=utf-8']);
    await courier.client.orders.pickUp(orderId);

    const pdf = Buffer.from(`%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n${'x'.repeat(4_000)}\n%%EOF\n`);
    const big = Buffer.concat([photo, Buffer.alloc(12 * MiB - photo.length, 1)]);
    // The same 12 MiB without a Content-Length: refused as it passes the limit.
    const streamed = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < big.length; i += 256 * 1024) controller.enqueue(big.subarray(i, i + 256 * 1024));
          controller.close();
        },
      });
    const stranger = await world.courierAt(somewhere());
    const customer = await world.actor('customer', ['customer']);
    const cases: [string, () => ReturnType<typeof attempt>, number][] = [
      ['a PDF called a JPEG', () => attempt(courier, orderId, pdf), 415],
      ['12 MiB', () => attempt(courier, orderId, big), 413],
      ['12 MiB, streamed', () => attemptStreamed(courier, orderId, streamed()), 413],
      ['a 20,000 × 20,000 PNG bomb', () => attempt(courier, orderId, pngBomb(20_000, 20_000), 'image/png'), 422],
      ['a text body', () => attempt(courier, orderId, Buffer.from('hello'), 'text/plain'), 415],
      ['another courier’s upload', () => attempt(stranger, orderId, photo), 404],
      ['a customer’s upload', () => attempt(customer, orderId, photo), 403],
    ];
    for (const [what, send, status] of cases) {
      const res = await send();
      expect([what, res.status, res.type]).toEqual([what, status, 'application/problem+json; charset=utf-8']);
    }
    expect(await stored(orderId)).toEqual([]);
    expect((await courier.client.orders.get(orderId)).proof).toBeNull();
  });

  it('replaces an earlier photo with a new one, whose URLs then serve it', async () => {
    const { orderId, customer, courier } = await takenOrder('delivered');
    await courier.client.orders.uploadProof(orderId, jpeg(await phonePhoto()));
    const first = await customer.inbox.next('order.updated', (o) => o.id === orderId && o.proof?.status === 'ready');
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();
    const replaced = await courier.client.orders.uploadProof(orderId, { data: png, contentType: 'image/png' });
    expect(replaced.proof?.status).toBe('processing');
    const second = await customer.inbox.next(
      'order.updated',
      (o) => o.id === orderId && o.proof?.status === 'ready' && o.proof.thumbnailUrl !== first.proof!.thumbnailUrl,
    );
    const thumbnail = await fetchImage(second.proof!.thumbnailUrl!);
    expect((await sharp(thumbnail.body).metadata()).width).toBe(128);
    // The replaced photo goes from storage.
    await eventually(async () => expect((await fetchImage(first.proof!.thumbnailUrl!)).status).toBe(404));
    expect(
      (await stored(orderId)).filter((k) => k.includes(first.proof!.thumbnailUrl!.split('/')[5] as string)),
    ).toEqual([]);
  });

  it('processes every accepted photo although the functions process is killed (SIGKILL) among them', async () => {
    const taken = await Promise.all(Array.from({ length: 12 }, () => takenOrder('delivered')));
    const original = await phonePhoto();
    const dispatcher = await world.actor('dispatcher', ['dispatcher']);
    const accepted: string[] = [];
    const sending = (async () => {
      for (const { orderId, courier } of taken) {
        await courier.client.orders.uploadProof(orderId, jpeg(original));
        accepted.push(orderId);
      }
    })();
    // Killed once the first photo is ready, while the others are being uploaded and processed.
    await dispatcher.inbox.next('order.updated', (o) => o.proof?.status === 'ready', 30_000);
    await stack.restartFunctions('SIGKILL');
    await sending;
    expect(accepted).toHaveLength(taken.length);
    for (const orderId of accepted) {
      const ready = await dispatcher.inbox.next(
        'order.updated',
        (o) => o.id === orderId && o.proof?.status === 'ready',
        60_000,
      );
      expect((await fetchImage(ready.proof!.thumbnailUrl!)).status).toBe(200);
    }
  }, 120_000);
});

/**
 * The object store killed (SIGKILL) while photos are being processed, on a
 * SeaweedFS of the test's own: what was accepted is processed once it is back,
 * and uploads while it is down are refused with 503, leaving nothing.
 */
describe('proof photos while the object store dies (SIGKILL) and comes back', () => {
  const credentials = {
    accessKeyId: LOCAL_OBJECT_STORE.OBJECT_STORE_ACCESS_KEY,
    secretAccessKey: LOCAL_OBJECT_STORE.OBJECT_STORE_SECRET_KEY,
  };
  const dir = mkdtempSync(join(tmpdir(), 'mesh-weed-'));
  let weed: Awaited<ReturnType<typeof objectStoreServer>>;
  let stack: RunningStack;
  let world: DispatchWorld;

  beforeAll(async () => {
    const [s3, master, volume, filer, ...grpc] = await Promise.all(Array.from({ length: 8 }, () => freePort()));
    weed = objectStoreServer(
      { s3: s3!, master: master!, volume: volume!, filer: filer!, grpc: grpc as [number, number, number, number] },
      dir,
      credentials,
    );
    await weed.start();
    stack = await startStack({ OBJECT_STORE_URL: weed.url });
    world = new DispatchWorld(stack);
  }, 180_000);
  afterAll(async () => {
    world?.close();
    await stack?.stop();
    await weed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('processes every accepted photo once the store is back, and refuses uploads while it is down', async () => {
    const dispatcher = await world.actor('dispatcher', ['dispatcher']);
    const taken = [];
    for (let i = 0; i < 8; i++) taken.push(await world.takenOrder('picked_up'));
    const photo = await phonePhoto();
    const upload = (courier: Actor, orderId: string) =>
      courier.client.orders.uploadProof(orderId, { data: photo, contentType: 'image/jpeg' });
    const before = taken.slice(0, 5);
    const during = taken.slice(5);
    for (const { orderId, courier } of before) await upload(courier, orderId);
    await weed.kill('SIGKILL');
    for (const { orderId, courier } of during) {
      // Raw, to see the answer's media type too (the typed call throws it as an UnavailableError).
      const res = await courier.client.http.send({
        method: 'PUT',
        path: `/v1/orders/${orderId}/proof`,
        body: { data: photo, contentType: 'image/jpeg' },
      });
      expect([res.status, res.headers.get('content-type')]).toEqual([503, 'application/problem+json; charset=utf-8']);
    }
    await weed.start();
    for (const { orderId } of before) {
      await dispatcher.inbox.next('order.updated', (o) => o.id === orderId && o.proof?.status === 'ready', 60_000);
    }
    const store = new S3ObjectStore({ endpoint: weed.url, region: 'us-east-1', credentials, buckets: [] });
    try {
      for (const { orderId, courier } of during) {
        expect(await store.keys('mesh-uploads', `proofs/${orderId}/`)).toEqual([]);
        expect((await courier.client.orders.get(orderId)).proof).toBeNull();
        // Sent again once the store is back, as the app does after a 503.
        await upload(courier, orderId);
        await dispatcher.inbox.next('order.updated', (o) => o.id === orderId && o.proof?.status === 'ready', 60_000);
      }
    } finally {
      await store.close();
    }
  }, 180_000);
});
