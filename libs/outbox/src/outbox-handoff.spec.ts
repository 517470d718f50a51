import { MemoryEventBus, newEvent } from '@mesh/bus';
import { silentLogger } from '@mesh/testing';
import { Metrics } from '@mesh/telemetry';
import { MemoryOutbox } from './memory-outbox';
import { HANDOFF_WAIT_MS, OutboxHandoff } from './outbox-handoff';
import { OutboxRelay } from './outbox-relay';

const event = (orderId: string) =>
  newEvent('order.deadline_reached', { orderId }, { source: '/test', key: orderId, subject: orderId });

describe('OutboxHandoff', () => {
  const outbox = new MemoryOutbox();
  const metrics = new Metrics();
  const bus = new MemoryEventBus();
  const onKafka: string[] = [];
  let kafkaUp = true;
  const publish = bus.publish.bind(bus);
  bus.publish = (topic, event) => {
    if (!kafkaUp) return Promise.reject(new Error('broker down'));
    onKafka.push(event.id);
    return publish(topic, event);
  };
  const handoff = new OutboxHandoff(outbox, bus, metrics, silentLogger);
  const handoffs = async (how: string) =>
    (await metrics.handoffs.get()).values.find((v) => v.labels.how === how)?.value ?? 0;

  afterAll(async () => {
    await outbox.close();
    await bus.close();
  });

  it('answers once the relay has the change on Kafka', async () => {
    const relay = new OutboxRelay(outbox, bus, metrics, silentLogger, { leaseMs: 600, waitMs: 50, batch: 10 });
    relay.onApplicationBootstrap();
    try {
      const change = event('a');
      outbox.appendNow('orders', change);
      expect(await handoff.settle('orders', change)).toBe(true);
      expect(await outbox.backlog()).toBe(0);
      expect(onKafka).toEqual([change.id]);
      expect(await handoffs('direct')).toBe(0);
    } finally {
      await relay.beforeApplicationShutdown();
    }
  });

  it('puts the event on Kafka itself when the relay cannot confirm it in time (Redis died after the commit)', async () => {
    const change = event('b');
    outbox.appendNow('orders', change);
    const started = performance.now();
    expect(await handoff.settle('orders', change)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HANDOFF_WAIT_MS - 5);
    expect(onKafka).toContain(change.id);
    expect(await handoffs('direct')).toBe(1);
    // Behind: the next change does not wait for the relay, so an outage does not slow every answer by the bound.
    const next = event('c');
    outbox.appendNow('orders', next);
    const at = performance.now();
    expect(await handoff.settle('orders', next)).toBe(true);
    expect(performance.now() - at).toBeLessThan(HANDOFF_WAIT_MS / 2);
    expect(onKafka).toContain(next.id);
  });

  it('answers unconfirmed, and counts it, only when Kafka refuses too', async () => {
    kafkaUp = false;
    try {
      const change = event('d');
      outbox.appendNow('orders', change);
      expect(await handoff.settle('orders', change)).toBe(false);
      expect(onKafka).not.toContain(change.id);
      expect(await handoffs('unconfirmed')).toBe(1);
    } finally {
      kafkaUp = true;
    }
  });
});
