import { MemoryEventBus, newEvent, type CloudEvent } from '@mesh/bus';
import { OutboxRelay, type Outbox } from '@mesh/outbox';
import { Metrics } from '@mesh/telemetry';
import { eventually, uniqueName } from './eventually';
import { silentLogger } from './silent-logger';

export interface OutboxUnderTest {
  outbox: Outbox;
  /** A second handle on the same outbox, as another process has it. */
  peer: Outbox;
  dispose(): Promise<void>;
}

const deadline = (orderId: string) =>
  newEvent('order.deadline_reached', { orderId }, { source: '/test', key: orderId, subject: orderId });

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
      for (const event of events) await under.outbox.append('orders', event);
      const all = await under.outbox.read('', 10, 0);
      expect(all.map((e) => e.event)).toEqual(events);
      expect(all.every((e) => e.topic === 'orders')).toBe(true);
      const rest = await under.outbox.read(all[0]!.id, 10, 0);
      expect(rest.map((e) => e.event.id)).toEqual([events[1]!.id, events[2]!.id]);
      await under.outbox.remove([all[0]!.id, all[1]!.id]);
      expect((await under.outbox.read('', 10, 0)).map((e) => e.event.id)).toEqual([events[2]!.id]);
      expect(await under.outbox.backlog()).toBe(1);
    });

    it('wakes a waiting read when an entry is appended, and answers empty when none comes', async () => {
      expect(await under.outbox.read('', 10, 50)).toEqual([]);
      const waiting = under.outbox.read('', 10, 5_000);
      const event = deadline('late');
      await under.peer.append('orders', event);
      expect((await waiting).map((e) => e.event)).toEqual([event]);
    });

    it('is drained once every entry committed before the question has been removed, by whichever process relays', async () => {
      await under.outbox.append('orders', deadline('d0'));
      const [relayed] = await under.outbox.read('', 10, 0);
      await under.outbox.remove([relayed!.id]);
      expect(await under.outbox.drained(0)).toBe(true);
      await under.peer.append('orders', deadline('d1'));
      await under.peer.append('orders', deadline('d2'));
      expect(await under.outbox.drained(0)).toBe(false);
      expect(await under.outbox.drained(100)).toBe(false);
      const waiting = under.outbox.drained(5_000);
      const [first, second] = await under.peer.read('', 10, 0);
      await under.peer.remove([first!.id]);
      // Half relayed is not drained: the answer must wait for the second entry too.
      expect(await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve('waiting'), 200))])).toBe(
        'waiting',
      );
      await under.peer.append('orders', deadline('d3'));
      await under.peer.remove([second!.id]);
      // Entries committed after the question (d3) do not hold it up.
      expect(await waiting).toBe(true);
      expect(await under.outbox.drained(0)).toBe(false);
    });

    it('lets one holder at a time have the lease, renewable by it, free once released or lapsed', async () => {
      const [one, two] = [uniqueName('relay'), uniqueName('relay')];
      expect(await under.outbox.lease(one, 300)).toBe(true);
      expect(await under.peer.lease(two, 300)).toBe(false);
      expect(await under.outbox.lease(one, 300)).toBe(true);
      await under.outbox.release(one);
      expect(await under.peer.lease(two, 150)).toBe(true);
      await eventually(async () => expect(await under.outbox.lease(one, 1_000)).toBe(true), { timeoutMs: 2_000 });
    });

    it('is put on the bus by the relay, in order, once Kafka takes it, however long it refused', async () => {
      const bus = new MemoryEventBus();
      const seen: CloudEvent[] = [];
      await bus.subscribe({ group: 'g', topic: 'orders', handle: (e) => Promise.resolve(void seen.push(e)) });
      let refusing = true;
      const publish = bus.publish.bind(bus);
      bus.publish = (topic, event) => (refusing ? Promise.reject(new Error('broker down')) : publish(topic, event));
      const relay = new OutboxRelay(under.outbox, bus, new Metrics(), silentLogger, {
        leaseMs: 600,
        waitMs: 100,
        batch: 2,
      });
      relay.onApplicationBootstrap();
      try {
        const events = ['x1', 'x2', 'x3', 'x4', 'x5'].map(deadline);
        for (const event of events) await under.peer.append('orders', event);
        await eventually(async () => expect(await under.outbox.backlog()).toBe(5), { timeoutMs: 2_000 });
        refusing = false;
        await eventually(() => expect(seen.map((e) => e.id)).toEqual(events.map((e) => e.id)), { timeoutMs: 10_000 });
        await eventually(async () => expect(await under.outbox.backlog()).toBe(0), { timeoutMs: 2_000 });
      } finally {
        await relay.beforeApplicationShutdown();
        await bus.close();
      }
    });
  });
}
