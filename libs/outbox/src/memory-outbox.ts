import type { CloudEvent } from '@mesh/bus';
import type { TopicKey } from '@mesh/contracts';
import { DrainWaiters } from './drain-waiters';
import { Outbox, type OutboxEntry } from './outbox.port';

/** Ids that sort as strings in commit order. */
const entryId = (sequence: number) => String(sequence).padStart(16, '0');

interface Shard {
  entries: OutboxEntry[];
  sequence: number;
  waiters: Array<() => void>;
  holder: { name: string; untilMs: number } | null;
}

/**
 * The outbox in process memory, for the embedded default and small tests. The
 * in-memory stores append to it synchronously inside their commit, so change
 * and entry land on the same turn of the event loop.
 */
export class MemoryOutbox extends Outbox {
  private readonly byShard = new Map<string, Shard>();
  private readonly drainWaiters = new DrainWaiters();

  constructor(readonly shards: readonly string[]) {
    super();
    for (const shard of shards) this.byShard.set(shard, { entries: [], sequence: 0, waiters: [], holder: null });
  }

  /** Synchronous, so an in-memory store can append inside its commit. */
  appendNow(shard: string, topic: TopicKey, event: CloudEvent): void {
    const s = this.shard(shard);
    s.entries.push({ id: entryId(++s.sequence), topic, event });
    wake(s);
  }

  append(shard: string, topic: TopicKey, event: CloudEvent): Promise<void> {
    this.appendNow(shard, topic, event);
    return Promise.resolve();
  }

  async read(shard: string, afterId: string, limit: number, waitMs: number): Promise<OutboxEntry[]> {
    const s = this.shard(shard);
    const after = () => s.entries.filter((e) => e.id > afterId).slice(0, limit);
    const found = after();
    if (found.length > 0 || waitMs <= 0) return found;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      s.waiters.push(done);
    });
    return after();
  }

  remove(shard: string, ids: readonly string[]): Promise<void> {
    const s = this.shard(shard);
    const gone = new Set(ids);
    s.entries = s.entries.filter((e) => !gone.has(e.id));
    this.drainWaiters.check();
    return Promise.resolve();
  }

  drained(shard: string, timeoutMs: number): Promise<boolean> {
    const s = this.shard(shard);
    const upTo = entryId(s.sequence);
    return this.drainWaiters.wait(() => !s.entries.some((e) => e.id <= upTo), timeoutMs);
  }

  lease(shard: string, holder: string, ttlMs: number): Promise<boolean> {
    const s = this.shard(shard);
    const now = Date.now();
    if (s.holder && s.holder.name !== holder && s.holder.untilMs > now) return Promise.resolve(false);
    s.holder = { name: holder, untilMs: now + ttlMs };
    return Promise.resolve(true);
  }

  release(shard: string, holder: string): Promise<void> {
    const s = this.shard(shard);
    if (s.holder?.name === holder) s.holder = null;
    return Promise.resolve();
  }

  backlog(): Promise<number> {
    return Promise.resolve([...this.byShard.values()].reduce((sum, s) => sum + s.entries.length, 0));
  }

  close(): Promise<void> {
    for (const s of this.byShard.values()) wake(s);
    this.drainWaiters.abandon();
    return Promise.resolve();
  }

  private shard(shard: string): Shard {
    const s = this.byShard.get(shard);
    if (!s) throw new Error(`no outbox shard ${shard}`);
    return s;
  }
}

function wake(shard: Shard): void {
  const waiters = shard.waiters;
  shard.waiters = [];
  for (const done of waiters) done();
}
