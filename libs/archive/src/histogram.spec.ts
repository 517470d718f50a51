import { bucketOf, bucketUpperS, quantileS, type Histogram } from './histogram';

describe('latency histogram', () => {
  it('reads any latency back at most 10% (or 10 ms) above it, never below', () => {
    for (const s of [0, 0.004, 0.01, 0.0101, 0.25, 1, 2.5, 59.9, 600, 3_600, 86_400]) {
      const upper = bucketUpperS(bucketOf(s));
      expect(upper).toBeGreaterThanOrEqual(Math.floor(s * 1000) / 1000);
      expect(upper).toBeLessThanOrEqual(Math.max(s * 1.1, 0.01) + 0.001);
    }
  });

  it('takes the nearest rank: p50 of 1..100 s is the bucket of 50 s, p99 that of 99 s', () => {
    const h: Histogram = new Map();
    for (let s = 1; s <= 100; s += 1) h.set(bucketOf(s), (h.get(bucketOf(s)) ?? 0) + 1);
    expect(quantileS(h, 0.5)).toBe(bucketUpperS(bucketOf(50)));
    expect(quantileS(h, 0.99)).toBe(bucketUpperS(bucketOf(99)));
    expect(quantileS(new Map(), 0.5)).toBeNull();
  });
});
