interface Waiter {
  relayed(): boolean;
  done(relayed: boolean): void;
}

/**
 * The callers of `Outbox.drained` waiting for the relay: each resolves true as
 * soon as its own test holds (checked after every removal), false at its deadline.
 */
export class DrainWaiters {
  private readonly waiting = new Set<Waiter>();

  wait(relayed: () => boolean, timeoutMs: number): Promise<boolean> {
    if (relayed()) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        relayed,
        done: (outcome) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiting.add(waiter);
    });
  }

  /** Tests every waiter again: the relay has removed entries. */
  check(): void {
    for (const waiter of [...this.waiting]) if (waiter.relayed()) waiter.done(true);
  }

  /** Gives up on every waiter: the outbox is closing. */
  abandon(): void {
    for (const waiter of [...this.waiting]) waiter.done(false);
  }
}
