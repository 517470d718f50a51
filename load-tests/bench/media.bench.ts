/**
 * npm run bench:media [-- --uploads 1000 --couriers 50 --concurrency 32 --size 2048x1536]
 *
 * A burst of proof-of-delivery photos through the real stack: the gateway (its own
 * process) streams each to SeaweedFS and puts its object-created event on Kafka; the
 * media function runs only under the local scaler, which scales it by its lag, as
 * KEDA does. Prints:
 * - uploads/s accepted (202) over the burst, and the upload's own latency;
 * - photo → ready: from the upload's first byte to `order.updated` with
 *   `proof.status: ready` on a dispatcher's socket (p50/p95/p99/max);
 * - the replicas the scaler ran, and when;
 * - lost: uploads answered 202 whose proof never settled (must be 0); failed ones apart.
 *
 * The orders are real ones first: couriers take them through dispatch to delivery.
 */
import { MeshApiError, MeshClient, UnavailableError } from '@mesh/client';
import { SCALING_POLICY, type Role } from '@mesh/contracts';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { SocketInbox } from '@mesh/harness';
import { eventually } from '@mesh/harness';
import { startScaler } from '@mesh/harness';
import { LOCAL_OBJECT_STORE, startStack } from '@mesh/harness';
import { S3ObjectStore } from '@mesh/objects';
import { percentile } from './figures';

const { values } = parseArgs({
  options: {
    uploads: { type: 'string', default: '1000' },
    couriers: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '32' },
    size: { type: 'string', default: '2048x1536' },
  },
});
const UPLOADS = Number(values.uploads);
const COURIERS = Math.min(Number(values.couriers), UPLOADS);
const CONCURRENCY = Number(values.concurrency);
const [WIDTH, HEIGHT] = values.size.split('x').map(Number) as [number, number];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A phone-like photo: noisy enough that JPEG keeps it near a phone's size, with EXIF GPS to strip. */
async function photo(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < pixels.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pixels[i] = ((i / 3) % WIDTH) / 8 + (x >>> 27);
  }
  return sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 12/1' } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The run's photos leave the development store (a run writes a gigabyte or more). */
async function forget(orderIds: readonly string[]): Promise<void> {
  const store = new S3ObjectStore({
    endpoint: process.env.OBJECT_STORE_URL ?? 'http://127.0.0.1:8333',
    region: 'us-east-1',
    credentials: {
      accessKeyId: LOCAL_OBJECT_STORE.OBJECT_STORE_ACCESS_KEY,
      secretAccessKey: LOCAL_OBJECT_STORE.OBJECT_STORE_SECRET_KEY,
    },
    buckets: [],
  });
  for (let i = 0; i < orderIds.length; i += 50) {
    await Promise.all(
      orderIds.slice(i, i + 50).flatMap((orderId) =>
        ['mesh-uploads', 'mesh-media'].map(async (bucket) => {
          for (const key of await store.keys(bucket, `proofs/${orderId}/`)) await store.delete(bucket, key);
        }),
      ),
    );
  }
  await store.close();
}

async function main(): Promise<void> {
  const policy = SCALING_POLICY.functions.media;
  if (!policy) throw new Error('the scaling policy has no media function');
  // Everything but the media function in the stack's functions process; the scaler runs that one.
  const stack = await startStack({
    FUNCTIONS: 'location,dispatch,order-updates,mix,housekeeping,archive,trail,deadlines',
    RATE_LIMIT_REQUESTS: '0',
    LOG_LEVEL: 'warn',
  });
  const shared = ['REDIS_KEY_PREFIX', 'KAFKA_TOPIC_PREFIX', 'JWT_SECRET', 'DATABASE_URL', 'DATABASE_SCHEMA'];
  const scaler = await startScaler(
    { pollingIntervalS: 0.5, functions: { media: { ...policy, cooldownS: 15 } } },
    { ...Object.fromEntries(shared.map((k) => [k, stack.env[k]])), SCALER_STANDBY: '0', LOG_LEVEL: 'warn' },
  );
  // Each app's typed client, without the SDK's retries: the burst below sends a 503 again itself, and counts it.
  const client = async (sub: string, role: Role) =>
    new MeshClient({ baseUrl: stack.baseUrl, token: await stack.token(sub, [role]), retry: { attempts: 0 } });
  const connected = (app: MeshClient) => app.live({ transports: ['websocket'], reconnection: false }).connect();
  const dispatcher = await connected(await client('bench-dispatcher', 'dispatcher'));
  const customer = await client('bench-customer', 'customer');

  // 1. Orders to prove: each courier, far from the others, takes its own through to delivery.
  const prepared: { orderId: string; courier: MeshClient }[] = [];
  const preparedAt = performance.now();
  await Promise.all(
    Array.from({ length: COURIERS }, async (_, c) => {
      const spot = { lat: 40 + Math.floor(c / 10) * 0.5, lng: -3 + (c % 10) * 0.5 };
      const courier = await client(`bench-courier-${c}`, 'courier');
      const live = await connected(courier);
      const inbox = new SocketInbox(live);
      await courier.couriers.setAvailability(true);
      await courier.couriers.reportLocation(spot);
      for (let n = c; n < UPLOADS; n += COURIERS) {
        const placed = await eventually(() => customer.orders.place({ pickup: spot, dropoff: spot }));
        const offer = await inbox.next('offer.created', (o) => o.orderId === placed.id, 30_000);
        await live.acceptOffer(offer.offerId);
        await courier.orders.pickUp(placed.id);
        await courier.orders.deliver(placed.id);
        prepared.push({ orderId: placed.id, courier });
      }
      live.close();
    }),
  );
  const prepareS = (performance.now() - preparedAt) / 1000;
  const photos = await Promise.all(Array.from({ length: 8 }, (_, i) => photo(i + 1)));

  // 2. The burst: every courier sends its photos at once, CONCURRENCY in flight.
  const replicaSamples: { at: number; replicas: number }[] = [];
  const sampler = setInterval(() => {
    void scaler.replicas('media').then((replicas) => replicaSamples.push({ at: performance.now(), replicas }));
  }, 250);
  const sentAt = new Map<string, number>();
  const acceptedAt = new Map<string, number>();
  const settled = new Map<string, { at: number; status: string }>();
  dispatcher.on('order.updated', (order) => {
    const status = order.proof?.status;
    if ((status === 'ready' || status === 'failed') && !settled.has(order.id)) {
      settled.set(order.id, { at: performance.now(), status });
    }
  });
  const refused = new Map<string, number>();
  let retries = 0;
  const burstAt = performance.now();
  const queue = [...prepared];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { orderId, courier } = next;
        sentAt.set(orderId, performance.now());
        // As a courier's app does: a 503 (nothing was kept) is sent again after a pause, a few times.
        for (let attempt = 1; ; attempt++) {
          try {
            // Accepted answers 202 (`processing`); any other answer throws its problem.
            await courier.orders.uploadProof(orderId, {
              data: photos[acceptedAt.size % photos.length]!,
              contentType: 'image/jpeg',
            });
            acceptedAt.set(orderId, performance.now());
            break;
          } catch (err) {
            if (!(err instanceof MeshApiError)) throw err;
            if (err instanceof UnavailableError && attempt < 5) {
              retries++;
              await sleep(250 * 2 ** attempt);
              continue;
            }
            const why = `${err.status} ${err.problem.detail ?? ''}`;
            refused.set(why, (refused.get(why) ?? 0) + 1);
            break;
          }
        }
      }
    }),
  );
  const burstS = (performance.now() - burstAt) / 1000;
  const deadline = performance.now() + 600_000;
  while ([...acceptedAt.keys()].some((id) => !settled.has(id)) && performance.now() < deadline) await sleep(100);
  const allSettledS = (performance.now() - burstAt) / 1000;
  clearInterval(sampler);
  const status = await scaler.status();

  const toReady = [...acceptedAt.keys()]
    .flatMap((id) => (settled.get(id)?.status === 'ready' ? [settled.get(id)!.at - sentAt.get(id)!] : []))
    .sort((a, b) => a - b);
  const uploadMs = [...acceptedAt].map(([id, at]) => at - sentAt.get(id)!).sort((a, b) => a - b);
  const failed = [...acceptedAt.keys()].filter((id) => settled.get(id)?.status === 'failed').length;
  const lost = [...acceptedAt.keys()].filter((id) => !settled.has(id)).length;
  const history = status.history.filter((h) => h.function === 'media');
  const maxReplicas = Math.max(0, ...replicaSamples.map((s) => s.replicas));
  const s = (msValue: number) => `${(msValue / 1000).toFixed(2)} s`;
  const report = {
    uploads: UPLOADS,
    photoBytes: Math.round(photos.reduce((a, p) => a + p.length, 0) / photos.length),
    size: `${WIDTH}x${HEIGHT}`,
    concurrency: CONCURRENCY,
    prepareS: Number(prepareS.toFixed(1)),
    accepted: acceptedAt.size,
    refused: Object.fromEntries(refused),
    retries,
    burstS: Number(burstS.toFixed(2)),
    acceptedPerS: Number((acceptedAt.size / burstS).toFixed(1)),
    uploadP50Ms: Math.round(percentile(uploadMs, 50)),
    uploadP99Ms: Math.round(percentile(uploadMs, 99)),
    readyP50Ms: Math.round(percentile(toReady, 50)),
    readyP95Ms: Math.round(percentile(toReady, 95)),
    readyP99Ms: Math.round(percentile(toReady, 99)),
    readyMaxMs: Math.round(toReady.at(-1) ?? NaN),
    allSettledS: Number(allSettledS.toFixed(1)),
    photosPerS: Number((toReady.length / allSettledS).toFixed(1)),
    maxReplicas,
    scaling: history.map((h) => `${h.from}→${h.to}@lag ${h.lag}`),
    failed,
    lost,
  };
  process.stdout.write(
    [
      '',
      `proof photos: ${UPLOADS} uploads of ${report.size} JPEG (~${Math.round(report.photoBytes / 1024)} KiB), ${CONCURRENCY} in flight; SeaweedFS, Kafka, Redis; media function under the local scaler`,
      `  orders prepared (dispatch → delivered)   ${report.prepareS} s`,
      `  accepted                                 ${report.accepted} (${retries} 503s sent again; refused: ${JSON.stringify(report.refused)})`,
      `  uploads/s accepted                       ${report.acceptedPerS} (burst took ${s(burstS * 1000)}; upload p50 ${report.uploadP50Ms} ms, p99 ${report.uploadP99Ms} ms)`,
      `  photo → ready p50 / p95 / p99 / max      ${s(report.readyP50Ms)} / ${s(report.readyP95Ms)} / ${s(report.readyP99Ms)} / ${s(report.readyMaxMs)}`,
      `  all settled after                        ${report.allSettledS} s (${report.photosPerS} photos/s)`,
      `  media replicas at most                   ${maxReplicas} (${report.scaling.join(', ') || 'no scaling'})`,
      `  failed                                   ${failed}`,
      `  lost                                     ${lost}`,
      '',
      JSON.stringify(report),
      '',
    ].join('\n'),
  );
  dispatcher.close();
  await forget(prepared.map((p) => p.orderId));
  await scaler.stop();
  await stack.stop();
  if (lost > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
