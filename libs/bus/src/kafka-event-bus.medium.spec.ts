import { deleteTopics, eventually, silentLogger, uniqueName } from '@mesh/harness';
import { newEvent } from './cloud-event';
import { eventBusContract } from '@mesh/contract-suites';
import { KafkaEventBus } from './kafka-event-bus';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/**
 * A bus on topics of its own, created; `dispose` closes it and deletes them, so that
 * runs do not pile topics up on the shared broker (each one it keeps costs it on every
 * metadata change and log sweep, and slows the suites and benchmarks after).
 */
async function freshBus(clientId: string): Promise<{ bus: KafkaEventBus; dispose: () => Promise<void> }> {
  const prefix = uniqueName('t');
  const bus = new KafkaEventBus({ brokers, clientId, topicPrefix: `${prefix}.`, logger: silentLogger });
  await bus.ensureTopics();
  return {
    bus,
    dispose: async () => {
      await bus.close();
      await deleteTopics(brokers, prefix);
    },
  };
}

eventBusContract('Kafka', () => freshBus('contract'));

describe('KafkaEventBus fetch interval', () => {
  it('gives a subscriber with a fetch interval what arrives while it is busy in fuller batches, not one by one', async () => {
    const { bus, dispose } = await freshBus('paced');
    const handledAt: number[] = [];
    const subscription = await bus.subscribe({
      group: uniqueName('paced'),
      topic: 'couriers',
      fetchIntervalMs: 250,
      handle: () => {
        handledAt.push(performance.now());
        return Promise.resolve();
      },
    });
    try {
      const courierId = uniqueName('courier');
      // One event every 40 ms for 1.2 s: unpaced, each comes in a fetch of its own.
      for (let i = 0; i < 30; i++) {
        const fix = { courierId, lat: 52.5, lng: 13.4, at: new Date().toISOString() };
        await bus.publish('couriers', newEvent('courier.location.reported', fix, { source: '/t', key: courierId }));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      await eventually(() => expect(handledAt).toHaveLength(30));
      // Events handled back to back belong to one fetch; a pause of 20 ms or more starts the next.
      const fetches = 1 + handledAt.slice(1).filter((at, i) => at - handledAt[i]! >= 20).length;
      expect(fetches).toBeLessThanOrEqual(10);
    } finally {
      await subscription.close();
      await dispose();
    }
  });
});

describe('a KafkaEventBus handler slower than the session', () => {
  it('keeps its partitions, and its event is handled once: the member heartbeats while the batch is in hand', async () => {
    const { bus, dispose } = await freshBus('slow');
    /** Times the group handed this member its partitions after the slow handler began. */
    let reassigned = 0;
    let slow = false;
    const handled: string[] = [];
    const subscription = await bus.subscribe({
      group: uniqueName('slow'),
      topic: 'couriers',
      onAssigned: () => void (slow && (reassigned += 1)),
      handle: async (event) => {
        if (handled.length === 0) {
          slow = true;
          // Twice the session timeout (2.5 s), as a trail waiting for the archive may take.
          await new Promise((resolve) => setTimeout(resolve, 5_000));
        }
        handled.push(event.id);
      },
    });
    try {
      const courierId = uniqueName('courier');
      const fix = () => ({ courierId, lat: 52.5, lng: 13.4, at: new Date().toISOString() });
      const first = newEvent('courier.location.reported', fix(), { source: '/t', key: courierId });
      await bus.publish('couriers', first);
      await eventually(() => expect(handled).toContain(first.id), { timeoutMs: 20_000 });
      const second = newEvent('courier.location.reported', fix(), { source: '/t', key: courierId });
      await bus.publish('couriers', second);
      await eventually(() => expect(handled).toContain(second.id), { timeoutMs: 20_000 });
      expect(handled).toEqual([first.id, second.id]);
      expect(reassigned).toBe(0);
    } finally {
      await subscription.close();
      await dispose();
    }
  }, 60_000);
});

describe('an idle Kafka client', () => {
  it('arms no timer every millisecond while nothing waits to be sent (kafkajs#1556, patched)', async () => {
    const { bus, dispose } = await freshBus('idle');
    const subscription = await bus.subscribe({
      group: uniqueName('idle'),
      topic: 'couriers',
      handle: () => Promise.resolve(),
    });
    const timers = jest.spyOn(global, 'setTimeout');
    try {
      const courierId = uniqueName('courier');
      const fix = { courierId, lat: 52.5, lng: 13.4, at: new Date().toISOString() };
      await bus.publish('couriers', newEvent('courier.location.reported', fix, { source: '/t', key: courierId }));
      timers.mockClear();
      // A second of a connected producer and an idle consumer: their fetch waits and heartbeats arm a few
      // dozen timers; each connection's request queue re-arming itself every millisecond arms thousands.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(timers.mock.calls.length).toBeLessThan(200);
    } finally {
      timers.mockRestore();
      await subscription.close();
      await dispose();
    }
  });
});
