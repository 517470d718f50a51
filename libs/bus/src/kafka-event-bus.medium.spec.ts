import { eventually, silentLogger, uniqueName } from '@mesh/harness';
import { newEvent } from './cloud-event';
import { eventBusContract } from '@mesh/contract-suites';
import { KafkaEventBus } from './kafka-event-bus';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A bus on topics of its own, created. */
async function freshBus(clientId: string): Promise<KafkaEventBus> {
  const bus = new KafkaEventBus({ brokers, clientId, topicPrefix: `${uniqueName('t')}.`, logger: silentLogger });
  await bus.ensureTopics();
  return bus;
}

eventBusContract('Kafka', async () => {
  const bus = await freshBus('contract');
  return { bus, dispose: () => bus.close() };
});

describe('KafkaEventBus fetch interval', () => {
  it('gives a subscriber with a fetch interval what arrives while it is busy in fuller batches, not one by one', async () => {
    const bus = await freshBus('paced');
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
      await bus.close();
    }
  });
});
