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
});
