/** Runs `work` over `items` with at most `limit` running at once. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Counts work in progress and tells when none is left. */
export class InFlight {
  private running = 0;
  private waiters: Array<() => void> = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      if (this.running === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** Resolves once nothing is running (at once if nothing is). */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Sends items in batches, one batch at a time: what is added while a batch is
 * being sent, or within `minIntervalMs` of the last batch's start, goes together
 * in the next. An item after a quiet spell goes at once, so batching costs no
 * latency when idle and grows with the load (as Kafka's producer does with
 * requests and its linger, here with whole events).
 */
export class Coalescer<T> {
  private queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private sending = false;
  private lastSentAt = -Infinity;

  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    private readonly maxItems: number,
    private readonly minIntervalMs = 0,
  ) {}

  /** Resolves once the batch holding the item was sent; rejects with its error. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.lastSentAt + this.minIntervalMs - performance.now();
        if (wait >= 1) await delay(wait);
        this.lastSentAt = performance.now();
        const batch = this.queue.splice(0, this.maxItems);
        try {
          await this.send(batch.map((entry) => entry.item));
          for (const entry of batch) entry.resolve();
        } catch (err) {
          for (const entry of batch) entry.reject(err);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
