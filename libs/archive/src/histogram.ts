/**
 * Latencies are kept as log-scale histograms so a report over any span merges
 * counts instead of sorting samples: bucket 0 holds up to 10 ms, bucket b holds
 * (10 ms × 1.1^(b-1), 10 ms × 1.1^b], so a percentile read from them is at
 * most 10% (or 10 ms) above the true one. The last bucket (about 22 days) takes the rest.
 */
const BASE_S = 0.01;
const FACTOR = 1.1;
export const LAST_BUCKET = 200;

export function bucketOf(seconds: number): number {
  if (!(seconds > BASE_S)) return 0; // also negative (clocks apart) and NaN
  return Math.min(LAST_BUCKET, Math.ceil(Math.log(seconds / BASE_S) / Math.log(FACTOR) - 1e-9));
}

/** The upper bound of a bucket, in seconds, to the millisecond. */
export function bucketUpperS(bucket: number): number {
  return Math.round(BASE_S * FACTOR ** bucket * 1000) / 1000;
}

/** Counts per bucket. */
export type Histogram = Map<number, number>;

export function addTo(histogram: Histogram, bucket: number, n = 1): void {
  histogram.set(bucket, (histogram.get(bucket) ?? 0) + n);
}

/**
 * The p-quantile (0 < p ≤ 1) by nearest rank: the upper bound of the bucket
 * holding the ⌈p·n⌉-th smallest sample; null without samples.
 */
export function quantileS(histogram: Histogram, p: number): number | null {
  let total = 0;
  for (const n of histogram.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket) ?? 0;
    if (seen >= rank) return bucketUpperS(bucket);
  }
  return null;
}
