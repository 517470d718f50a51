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
  const handoff = new OutboxHandoff(outbox, metrics, silentLogger);
  const unconfirmed = async () => (await metrics.answersBeforeKafka.get()).values[0]?.value ?? 0;

  afterAll(() => outbox.close());

  it('answers once the relay has the change on Kafka', async () => {
    const bus = new MemoryEventBus();
    const relay = new OutboxRelay(outbox, bus, metrics, silentLogger, { leaseMs: 600, waitMs: 50, batch: 10 });
    relay.onApplicationBootstrap();
    try {
      outbox.appendNow('orders', event('a'));
      expect(await handoff.settle()).toBe(true);
      expect(await outbox.backlog()).toBe(0);
      expect(await unconfirmed()).toBe(0);
    } finally {
      await relay.beforeApplicationShutdown();
      await bus.close();
    }
  });

  it('answers after the bound while nothing relays, then stops waiting until the relay catches up', async () => {
    outbox.appendNow('orders', event('b'));
    const started = performance.now();
    expect(await handoff.settle()).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HANDOFF_WAIT_MS - 5);
    // Behind: the next answers only look, so an outage does not slow every request by the bound.
    const next = performance.now();
    expect(await handoff.settle()).toBe(false);
    expect(performance.now() - next).toBeLessThan(HANDOFF_WAIT_MS / 2);
    expect(await unconfirmed()).toBe(2);
    const [entry] = await outbox.read('', 10, 0);
    await outbox.remove([entry!.id]);
    expect(await handoff.settle()).toBe(true);
  });
});
