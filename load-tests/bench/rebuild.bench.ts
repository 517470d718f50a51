import { DEFAULT_MARKET } from '@mesh/config';
import { Markets } from '@mesh/geo';
/**
 * npm run bench:rebuild [-- --orders 100000]
 *
 * How long dispatch state takes to come back when Redis restarted empty: puts N
 * orders' histories on a fresh `orders` topic of the real Kafka (each order
 * placed, offered and accepted, half of them delivered: four events an order,
 * as the outbox writes them), then times what the rebuilder does: replay the
 * log, fold it to each order's latest event, restore into an empty Redis.
 */
import { parseArgs } from 'node:util';
import { KafkaEventBus, type CloudEvent } from '@mesh/bus';
import { newId } from '@mesh/contracts';
import {
  OrderFold,
  RedisDispatchStore,
  announced,
  answerOffer,
  deliver,
  makeOffer,
  newOrder,
  pickUp,
  type CourierSlot,
} from '@mesh/dispatch';
import { RedisConnection } from '@mesh/redis';
import { deleteKeys, deleteTopics } from '@mesh/harness';
import { silentLogger } from '@mesh/harness';

const { values } = parseArgs({ options: { orders: { type: 'string', default: '100000' } } });
const ORDERS = Number(values.orders);
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The events of one order's life, as the outbox puts them on the log. */
function history(i: number): CloudEvent[] {
  const now = new Date();
  const centre = { lat: 52.52 + (i % 100) / 1000, lng: 13.4 + (i % 77) / 1000 };
  const created = newOrder({
    id: newId(),
    customerId: `c-${i % 5000}`,
    place: { pickup: centre, dropoff: centre },
    market: DEFAULT_MARKET,
    now,
  });
  const placed = { ...created.order.after, version: 1 };
  const courier: CourierSlot = {
    id: `k-${i % 2000}`,
    status: 'available',
    offerId: null,
    activeOrderId: null,
    location: centre,
    vehicle: 'bicycle',
  };
  const offered = announced(
    makeOffer(placed, courier, { offerId: newId(), attempt: 1, distanceM: 120, ttlMs: 15_000, now }),
    'order.offered',
    '/bench',
  );
  const accepted = announced(
    answerOffer({ ...offered.order.after, version: 2 }, offered.offer.after, offered.courier!.after, 'accept', now),
    'order.assigned',
    '/bench',
  );
  const assigned = { ...accepted.order.after, version: 3 };
  const events = [announced(created, 'order.created', '/bench').event, offered.event, accepted.event];
  if (i % 2 === 0) {
    const pickedUp = announced(pickUp(assigned, now), 'order.picked_up', '/bench');
    events.push(pickedUp.event);
    const busy: CourierSlot = { ...courier, status: 'busy', activeOrderId: assigned.id };
    events.push(
      announced(deliver({ ...pickedUp.order.after, version: 4 }, busy, now), 'order.delivered', '/bench').event,
    );
  }
  return events.filter((e): e is NonNullable<typeof e> => e !== undefined);
}

async function main(): Promise<void> {
  const run = `bench-rebuild-${Date.now().toString(36)}`;
  const bus = new KafkaEventBus({ brokers: BROKERS, clientId: run, topicPrefix: `${run}.`, logger: silentLogger });
  const redis = new RedisConnection({ url: REDIS_URL, keyPrefix: `${run}:` });
  try {
    await bus.ensureTopics();
    let produced = 0;
    const startedProducing = performance.now();
    for (let from = 0; from < ORDERS; from += 2_000) {
      const batch = Array.from({ length: Math.min(2_000, ORDERS - from) }, (_, k) => history(from + k)).flat();
      await Promise.all(batch.map((event) => bus.publish('orders', event)));
      produced += batch.length;
    }
    const produceS = (performance.now() - startedProducing) / 1000;
    process.stdout.write(`log: ${ORDERS} orders, ${produced} events, produced in ${produceS.toFixed(1)} s\n`);

    const store = new RedisDispatchStore(redis, new Markets([{ name: DEFAULT_MARKET, area: null }]));
    const started = performance.now();
    const fold = new OrderFold();
    await bus.replay('orders', 'earliest', (event) => fold.add(event));
    const replayed = performance.now();
    const restoredOrders = fold.restored(Date.now(), () => DEFAULT_MARKET);
    const folded = performance.now();
    const restored = await store.restore(restoredOrders);
    const done = performance.now();
    const s = (a: number, b: number) => `${((b - a) / 1000).toFixed(2)} s`;
    process.stdout.write(
      `rebuild of ${fold.size} orders: ${s(started, done)} in all ` +
        `(replay ${s(started, replayed)}, fold ${s(replayed, folded)}, restore ${s(folded, done)}); ${restored} written\n`,
    );
  } finally {
    await bus.close();
    await Promise.all([deleteTopics(BROKERS, run), deleteKeys(REDIS_URL, `${run}:`)]);
    await redis.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
