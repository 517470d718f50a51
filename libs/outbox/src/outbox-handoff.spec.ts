import { MemoryEventBus, newEvent } from '@mesh/bus';
import { silentLogger } from '@mesh/harness';
import { Metrics } from '@mesh/telemetry';
import { MemoryOutbox } from './memory-outbox';
import { HANDOFF_WAIT_MS, OutboxHandoff } from './outbox-handoff';
import { OutboxLost } from './outbox.port';
import { OutboxRelay } from './outbox-relay';

/** The one outbox shard these tests use. */
const S = '{m:default}';

const event = (orderId: string) =>
  newEvent('order.deadline_reached', { orderId }, { source: '/test', key: orderId, subject: orderId });

describe('OutboxHandoff', () => {
  const outbox = new MemoryOutbox([S]);
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
      outbox.appendNow(S, 'orders', change);
      expect(await handoff.settle(S, 'orders', change)).toBe(true);
      expect(await outbox.backlog()).toBe(0);
      expect(onKafka).toEqual([change.id]);
      expect(await handoffs('direct')).toBe(0);
    } finally {
      await relay.beforeApplicationShutdown();
    }
  });

  it('puts the event on Kafka itself when Redis failed after the commit (the relay never will)', async () => {
    const change = event('b');
    const lostOutbox = new MemoryOutbox([S]);
    lostOutbox.drained = () => Promise.reject(new OutboxLost());
    const failing = new OutboxHandoff(lostOutbox, bus, metrics, silentLogger);
    expect(await failing.settle(S, 'orders', change)).toBe(true);
    expect(onKafka).toContain(change.id);
    expect(await handoffs('direct')).toBe(1);
    await lostOutbox.close();
  });

  it('answers after the bound when the relay is behind, leaving the event to it; then stops waiting a while', async () => {
    const change = event('c');
    outbox.appendNow(S, 'orders', change);
    const started = performance.now();
    expect(await handoff.settle(S, 'orders', change)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HANDOFF_WAIT_MS - 5);
    // Not published on top of a Kafka that is behind: the relay has it.
    expect(onKafka).not.toContain(change.id);
    expect(await handoffs('unconfirmed')).toBe(1);
    const next = event('d');
    outbox.appendNow(S, 'orders', next);
    const at = performance.now();
    expect(await handoff.settle(S, 'orders', next)).toBe(false);
    expect(performance.now() - at).toBeLessThan(HANDOFF_WAIT_MS / 2);
    // Once the relay has caught up, answers wait for it again.
    for (const entry of await outbox.read(S, '', 10, 0)) await outbox.remove(S, [entry.id]);
    expect(await handoff.settle(S, 'orders', event('e'))).toBe(true);
  });

  it('answers unconfirmed, and counts it, when Redis failed and Kafka refuses too', async () => {
    kafkaUp = false;
    const before = await handoffs('unconfirmed');
    const broken = new MemoryOutbox([S]);
    broken.drained = () => Promise.reject(new Error('Connection is closed.'));
    try {
      const change = event('f');
      expect(await new OutboxHandoff(broken, bus, metrics, silentLogger).settle(S, 'orders', change)).toBe(false);
      expect(onKafka).not.toContain(change.id);
      expect(await handoffs('unconfirmed')).toBe(before + 1);
    } finally {
      kafkaUp = true;
      await broken.close();
    }
  });
});
