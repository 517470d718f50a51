import type { CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';
import { DrainWaiters } from './drain-waiters';
import { Outbox, type OutboxEntry } from './outbox.port';

/** Ids that sort as strings in commit order. */
const entryId = (sequence: number) => String(sequence).padStart(16, '0');

/**
 * The outbox in process memory, for the embedded default and small tests. The
 * in-memory stores append to it synchronously inside their commit, so change
 * and entry land on the same turn of the event loop.
 */
export class MemoryOutbox extends Outbox {
  private entries: OutboxEntry[] = [];
  private sequence = 0;
  private waiters: Array<() => void> = [];
  private holder: { name: string; untilMs: number } | null = null;
  private readonly drainWaiters = new DrainWaiters();

  /** Synchronous, so an in-memory store can append inside its commit. */
  appendNow(topic: TopicKey, event: CloudEvent): void {
    this.entries.push({ id: entryId(++this.sequence), topic, event });
    this.wake();
  }

  append(topic: TopicKey, event: CloudEvent): Promise<void> {
    this.appendNow(topic, event);
    return Promise.resolve();
  }

  async read(afterId: string, limit: number, waitMs: number): Promise<OutboxEntry[]> {
    const after = () => this.entries.filter((e) => e.id > afterId).slice(0, limit);
    const found = after();
    if (found.length > 0 || waitMs <= 0) return found;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
    return after();
  }

  remove(ids: readonly string[]): Promise<void> {
    const gone = new Set(ids);
    this.entries = this.entries.filter((e) => !gone.has(e.id));
    this.drainWaiters.check();
    return Promise.resolve();
  }

  drained(timeoutMs: number): Promise<boolean> {
    const upTo = entryId(this.sequence);
    return this.drainWaiters.wait(() => !this.entries.some((e) => e.id <= upTo), timeoutMs);
  }

  lease(holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.holder && this.holder.name !== holder && this.holder.untilMs > now) return Promise.resolve(false);
    this.holder = { name: holder, untilMs: now + ttlMs };
    return Promise.resolve(true);
  }

  release(holder: string): Promise<void> {
    if (this.holder?.name === holder) this.holder = null;
    return Promise.resolve();
  }

  backlog(): Promise<number> {
    return Promise.resolve(this.entries.length);
  }

  close(): Promise<void> {
    this.wake();
    this.drainWaiters.abandon();
    return Promise.resolve();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
