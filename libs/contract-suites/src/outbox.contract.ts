import { MemoryEventBus, newEvent, type CloudEvent } from '@mesh/bus';
import { OutboxRelay, type Outbox } from '@mesh/outbox';
import { Metrics } from '@mesh/telemetry';
import { eventually, uniqueName } from '@mesh/harness';
import { silentLogger } from '@mesh/harness';

/** The shards every adapter under test is made with. */
export const OUTBOX_TEST_SHARDS = ['{m:west}', '{m:east}'] as const;
const [A, B] = OUTBOX_TEST_SHARDS;

export interface OutboxUnderTest {
  /** An outbox with the shards OUTBOX_TEST_SHARDS. */
  outbox: Outbox;
  /** A second handle on the same outbox, as another process has it. */
  peer: Outbox;
  dispose(): Promise<void>;
}

const deadline = (orderId: string) =>
  newEvent('order.deadline_reached', { orderId }, { source: '/test', key: orderId, subject: orderId });

/** A relay of `outbox` (not started) onto an in-memory bus, and the `orders` events the bus has seen. */
async function relayOnto(
  outbox: Outbox,
  batch: number,
  leaseMs = 600,
): Promise<{ bus: MemoryEventBus; seen: CloudEvent[]; relay: OutboxRelay }> {
  const bus = new MemoryEventBus();
  const seen: CloudEvent[] = [];
  await bus.subscribe({ group: 'g', topic: 'orders', handle: (e) => Promise.resolve(void seen.push(e)) });
  const relay = new OutboxRelay(outbox, bus, new Metrics(), silentLogger, { leaseMs, waitMs: 100, batch });
  return { bus, seen, relay };
}

/** The behaviour every Outbox adapter must have, and the relay's over it. Run against each adapter. */
export function outboxContract(adapter: string, create: () => Promise<OutboxUnderTest>): void {
  describe(`Outbox contract: ${adapter}`, () => {
    let under: OutboxUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    it('reads entries in commit order, after the last one read, and forgets removed ones', async () => {
      const events = [deadline('a'), deadline('b'), deadline('c')];
      for (const event of events) await under.outbox.append(A, 'orders', event);
      const all = await under.outbox.read(A, '', 10, 0);
      expect(all.map((e) => e.event)).toEqual(events);
      expect(all.every((e) => e.topic === 'orders')).toBe(true);
      const rest = await under.outbox.read(A, all[0]!.id, 10, 0);
      expect(rest.map((e) => e.event.id)).toEqual([events[1]!.id, events[2]!.id]);
      await under.outbox.remove(A, [all[0]!.id, all[1]!.id]);
      expect((await under.outbox.read(A, '', 10, 0)).map((e) => e.event.id)).toEqual([events[2]!.id]);
      expect(await under.outbox.backlog()).toBe(1);
    });

    it('wakes a waiting read when an entry is appended, and answers empty when none comes', async () => {
      expect(await under.outbox.read(A, '', 10, 50)).toEqual([]);
      const waiting = under.outbox.read(A, '', 10, 5_000);
      const event = deadline('late');
      await under.peer.append(A, 'orders', event);
      expect((await waiting).map((e) => e.event)).toEqual([event]);
    });

    it('is drained once every entry committed before the question has been removed, by whichever process relays', async () => {
      await under.outbox.append(A, 'orders', deadline('d0'));
      const [relayed] = await under.outbox.read(A, '', 10, 0);
      await under.outbox.remove(A, [relayed!.id]);
      expect(await under.outbox.drained(A, 0)).toBe(true);
      await under.peer.append(A, 'orders', deadline('d1'));
      await under.peer.append(A, 'orders', deadline('d2'));
      expect(await under.outbox.drained(A, 0)).toBe(false);
      expect(await under.outbox.drained(A, 100)).toBe(false);
      const waiting = under.outbox.drained(A, 5_000);
      const [first, second] = await under.peer.read(A, '', 10, 0);
      await under.peer.remove(A, [first!.id]);
      // Half relayed is not drained: the answer must wait for the second entry too.
      expect(await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve('waiting'), 200))])).toBe(
        'waiting',
      );
      await under.peer.append(A, 'orders', deadline('d3'));
      await under.peer.remove(A, [second!.id]);
      // Entries committed after the question (d3) do not hold it up.
      expect(await waiting).toBe(true);
      expect(await under.outbox.drained(A, 0)).toBe(false);
    });

    it('lets one holder at a time have the lease, renewable by it, free once released or lapsed', async () => {
      const [one, two] = [uniqueName('relay'), uniqueName('relay')];
      expect(await under.outbox.lease(A, one, 300)).toBe(true);
      expect(await under.peer.lease(A, two, 300)).toBe(false);
      expect(await under.outbox.lease(A, one, 300)).toBe(true);
      await under.outbox.release(A, one);
      expect(await under.peer.lease(A, two, 150)).toBe(true);
      await eventually(async () => expect(await under.outbox.lease(A, one, 1_000)).toBe(true), { timeoutMs: 2_000 });
    });

    it('is put on the bus by the relay, in order, once Kafka takes it, however long it refused', async () => {
      const { bus, seen, relay } = await relayOnto(under.outbox, 2);
      let refusing = true;
      const publish = bus.publish.bind(bus);
      bus.publish = (topic, event) => (refusing ? Promise.reject(new Error('broker down')) : publish(topic, event));
      relay.onApplicationBootstrap();
      try {
        const events = ['x1', 'x2', 'x3', 'x4', 'x5'].map(deadline);
        for (const event of events) await under.peer.append(A, 'orders', event);
        await eventually(async () => expect(await under.outbox.backlog()).toBe(5), { timeoutMs: 2_000 });
        refusing = false;
        await eventually(() => expect(seen.map((e) => e.id)).toEqual(events.map((e) => e.id)), { timeoutMs: 10_000 });
        await eventually(async () => expect(await under.outbox.backlog()).toBe(0), { timeoutMs: 2_000 });
      } finally {
        await relay.beforeApplicationShutdown();
        await bus.close();
      }
    });

    it('is relayed by another process while the relay holding the shard keeps failing (its Kafka client broken)', async () => {
      // Leases longer than the relay's longest pause between tries: a failing holder renews its lease in time.
      const broken = await relayOnto(under.outbox, 10, 3_000);
      let attempts = 0;
      broken.bus.publish = () => {
        attempts++;
        return Promise.reject(new Error('this process cannot reach Kafka'));
      };
      const working = await relayOnto(under.peer, 10, 3_000);
      const event = deadline('around-a-broken-relay');
      await under.peer.append(A, 'orders', event);
      broken.relay.onApplicationBootstrap();
      try {
        // The broken relay has the shard first: it has failed on its entry.
        await eventually(() => expect(attempts).toBeGreaterThan(0), { timeoutMs: 5_000 });
        working.relay.onApplicationBootstrap();
        await eventually(() => expect(working.seen.map((e) => e.id)).toEqual([event.id]), { timeoutMs: 5_000 });
      } finally {
        await broken.relay.beforeApplicationShutdown();
        await working.relay.beforeApplicationShutdown();
        await broken.bus.close();
        await working.bus.close();
      }
    });

    it('keeps its shards apart: each is read, drained and leased on its own, and the relay relays all of them', async () => {
      const [a, b] = [deadline('in-a'), deadline('in-b')];
      await under.outbox.append(A, 'orders', a);
      await under.outbox.append(B, 'orders', b);
      expect((await under.outbox.read(A, '', 10, 0)).map((e) => e.event.id)).toEqual([a.id]);
      expect((await under.outbox.read(B, '', 10, 0)).map((e) => e.event.id)).toEqual([b.id]);
      expect(await under.outbox.backlog()).toBe(2);
      const [entryOfB] = await under.outbox.read(B, '', 10, 0);
      await under.outbox.remove(B, [entryOfB!.id]);
      // B is drained while A still waits for its relay.
      expect(await under.outbox.drained(B, 0)).toBe(true);
      expect(await under.outbox.drained(A, 0)).toBe(false);
      const holder = uniqueName('relay');
      expect(await under.outbox.lease(A, holder, 1_000)).toBe(true);
      expect(await under.peer.lease(B, uniqueName('relay'), 1_000)).toBe(true);
      expect(await under.peer.lease(A, uniqueName('relay'), 1_000)).toBe(false);
      await under.outbox.release(A, holder);

      const { bus, seen, relay } = await relayOnto(under.outbox, 10);
      relay.onApplicationBootstrap();
      try {
        const later = deadline('later-in-b');
        await under.peer.append(B, 'orders', later);
        await eventually(() => expect(seen.map((e) => e.id)).toEqual(expect.arrayContaining([a.id, later.id])), {
          timeoutMs: 10_000,
        });
        await eventually(async () => expect(await under.outbox.backlog()).toBe(0), { timeoutMs: 2_000 });
      } finally {
        await relay.beforeApplicationShutdown();
        await bus.close();
      }
    });
  });
}
