import { DependencyUnavailable, MemoryEventBus, newEvent } from '@mesh/bus';
import { functionGroup } from '@mesh/contracts';
import { ArchiveWatermark } from './archive-watermark';

const deadline = (id: string) => newEvent('order.deadline_reached', { orderId: id }, { source: '/test', key: id });

describe('the archive watermark', () => {
  let bus: MemoryEventBus;
  beforeEach(() => (bus = new MemoryEventBus()));
  afterEach(() => bus.close());

  it('is through any time while the order log is empty', async () => {
    await expect(new ArchiveWatermark(bus).through(Date.now(), 1_000)).resolves.toBeUndefined();
  });

  it('hands back DependencyUnavailable while the archive has not handled the order log', async () => {
    await bus.publish('orders', deadline('o1'));
    await expect(new ArchiveWatermark(bus).through(Date.now(), 300)).rejects.toBeInstanceOf(DependencyUnavailable);
  });

  it('is through once the archive’s group has handled every order event that was on the bus', async () => {
    await bus.publish('orders', deadline('o1'));
    await bus.publish('orders', deadline('o2'));
    const handled: string[] = [];
    const subscription = await bus.subscribe({
      group: functionGroup('archive'),
      topic: 'orders',
      handle: (e) => {
        handled.push(e.id);
        return Promise.resolve();
      },
    });
    const watermark = new ArchiveWatermark(bus);
    await watermark.through(Date.now(), 5_000);
    expect(handled).toHaveLength(2);
    await subscription.close();
  });

  it('starts at most two rounds a second, however often it is asked', async () => {
    const roundsAt: number[] = [];
    const ends = bus.endPositions.bind(bus);
    jest.spyOn(bus, 'endPositions').mockImplementation((topic) => {
      roundsAt.push(performance.now());
      return ends(topic);
    });
    const watermark = new ArchiveWatermark(bus);
    const started = performance.now();
    while (performance.now() - started < 1_200) await watermark.through(Date.now(), 1_000);
    expect(roundsAt.length).toBeGreaterThan(1);
    // Half a second apart (a timer may fire a millisecond early).
    expect(Math.min(...roundsAt.slice(1).map((at, i) => at - (roundsAt[i] as number)))).toBeGreaterThan(495);
  });

  it('lets its callers go at once when the process shuts down, for the next owner to handle their events', async () => {
    await bus.publish('orders', deadline('o1'));
    const watermark = new ArchiveWatermark(bus);
    const waiting = watermark.through(Date.now(), 60_000);
    watermark.beforeApplicationShutdown();
    await expect(waiting).rejects.toBeInstanceOf(DependencyUnavailable);
    await expect(watermark.through(Date.now(), 60_000)).rejects.toBeInstanceOf(DependencyUnavailable);
  }, 5_000);

  it('shares one round between the callers that wait together', async () => {
    const looks = jest.spyOn(bus, 'endPositions');
    const watermark = new ArchiveWatermark(bus);
    const now = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => watermark.through(now, 1_000)));
    expect(looks.mock.calls.length).toBeLessThanOrEqual(2);
  });
});
