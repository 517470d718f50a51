import { Coalescer } from './concurrency';

describe('Coalescer', () => {
  it('sends an item alone when idle, and what comes meanwhile together in the next batch', async () => {
    const sent: number[][] = [];
    let release: () => void = () => undefined;
    const coalescer = new Coalescer<number>((items) => {
      sent.push(items);
      return new Promise<void>((resolve) => (release = resolve));
    }, 100);
    const first = coalescer.add(1);
    const later = [2, 3, 4].map((n) => coalescer.add(n));
    expect(sent).toEqual([[1]]);
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([[1], [2, 3, 4]]);
    release();
    await Promise.all(later);
  });

  it('splits a backlog larger than a batch, and rejects only the items of a batch that failed', async () => {
    const sent: number[][] = [];
    const coalescer = new Coalescer<number>((items) => {
      sent.push(items);
      return items.includes(3) ? Promise.reject(new Error('broker away')) : Promise.resolve();
    }, 2);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => coalescer.add(n)));
    expect(sent).toEqual([[1], [2, 3], [4, 5]]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it('starts batches at most every interval under load, and sends an item after a quiet spell at once', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const sent: number[][] = [];
      const coalescer = new Coalescer<number>(
        (items) => {
          sent.push(items);
          return Promise.resolve();
        },
        100,
        20,
      );
      const first = coalescer.add(1);
      await first;
      const next = [2, 3].map((n) => coalescer.add(n));
      await jest.advanceTimersByTimeAsync(10);
      expect(sent).toEqual([[1]]);
      const another = coalescer.add(4);
      await jest.advanceTimersByTimeAsync(10);
      expect(sent).toEqual([[1], [2, 3, 4]]);
      await Promise.all([...next, another]);
      await jest.advanceTimersByTimeAsync(100);
      void coalescer.add(5);
      await Promise.resolve();
      expect(sent).toEqual([[1], [2, 3, 4], [5]]);
    } finally {
      jest.useRealTimers();
    }
  });
});
