import { MemoryEventBus, newEvent, type MeshEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { functionGroup } from '@mesh/contracts';
import { eventually } from '@mesh/harness';
import { MemoryInvocationLedger, type InvocationRecord } from '@mesh/invocations';
import { createLogger, Metrics } from '@mesh/telemetry';
import { FunctionHost, LAG_REPORT_INTERVAL_MS } from './function-host';
import type { MeshFunction } from './mesh-function';

/** A location-like function that holds every event until told to let go. */
class HeldFunction implements MeshFunction<'courier.availability.changed'> {
  readonly name = 'location';
  readonly topic = 'couriers';
  readonly accepts = ['courier.availability.changed'] as const;
  private release: () => void = () => undefined;
  private held = new Promise<void>((resolve) => (this.release = resolve));
  handle(_event: MeshEvent<'courier.availability.changed'>): Promise<void> {
    return this.held;
  }
  letGo(): void {
    this.release();
  }
}

/** A ledger whose completions wait until let go, noting what it was asked. */
class HeldLedger extends MemoryInvocationLedger {
  readonly asked: string[] = [];
  private finish: () => void = () => undefined;
  private readonly held = new Promise<void>((resolve) => (this.finish = resolve));
  override async complete(fn: string, eventId: string, keepMs: number): Promise<void> {
    this.asked.push('complete');
    await this.held;
    return super.complete(fn, eventId, keepMs);
  }
  override record(record: InvocationRecord): Promise<void> {
    this.asked.push(`record ${record.outcome}`);
    return super.record(record);
  }
  letGo(): void {
    this.finish();
  }
}

describe('FunctionHost', () => {
  it('completes a handled event and records it at once, in one round trip rather than one after the other', async () => {
    const bus = new MemoryEventBus();
    const ledger = new HeldLedger();
    const fn = new HeldFunction();
    fn.letGo();
    const host = new FunctionHost(
      bus,
      [fn],
      ledger,
      AppConfig.fromEnv({ JWT_SECRET: 'x'.repeat(32) }),
      new Metrics(),
      createLogger('test', 'silent'),
    );
    try {
      await host.onApplicationBootstrap();
      const event = newEvent(
        'courier.availability.changed',
        { courierId: 'c-1', available: true },
        { source: '/t', key: 'c-1' },
      );
      await bus.publish('couriers', event);
      // The record is asked for while the completion is still on its way.
      await eventually(() => expect(ledger.asked).toEqual(['complete', 'record ok']));
      ledger.letGo();
      await eventually(async () => expect(await ledger.claim('location', event.id, 1_000)).toBe('done'));
    } finally {
      ledger.letGo();
      await host.beforeApplicationShutdown();
    }
  });

  it('reports each hosted function’s consumer lag as mesh_consumer_lag, as scaling sees it', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const bus = new MemoryEventBus();
    const metrics = new Metrics();
    const fn = new HeldFunction();
    const host = new FunctionHost(
      bus,
      [fn],
      new MemoryInvocationLedger(),
      AppConfig.fromEnv({ JWT_SECRET: 'x'.repeat(32) }),
      metrics,
      createLogger('test', 'silent'),
    );
    const lag = async () =>
      (await metrics.consumerLag.get()).values.find((v) => v.labels.group === functionGroup('location'))?.value;
    try {
      await host.onApplicationBootstrap();
      for (let i = 0; i < 5; i++) {
        const data = { courierId: `c-${i}`, available: true };
        await bus.publish('couriers', newEvent('courier.availability.changed', data, { source: '/t', key: `c-${i}` }));
      }
      await jest.advanceTimersByTimeAsync(LAG_REPORT_INTERVAL_MS);
      expect(await lag()).toBe(await bus.consumerLag(functionGroup('location'), 'couriers'));
      expect(await lag()).toBeGreaterThan(0);
      fn.letGo();
      await jest.advanceTimersByTimeAsync(LAG_REPORT_INTERVAL_MS * 2);
      expect(await lag()).toBe(0);
    } finally {
      fn.letGo();
      await host.beforeApplicationShutdown();
      jest.useRealTimers();
    }
  });
});
