import {
  InvocationLedger,
  MAX_RECORDS,
  RECORD_RETENTION_MS,
  type Claim,
  type InvocationRecord,
  type RecordFilter,
} from './invocation-ledger.port';

/** The ledger in process memory, for the embedded default and small tests. */
export class MemoryInvocationLedger extends InvocationLedger {
  private readonly claims = new Map<string, { state: 'run' | 'done'; untilMs: number }>();
  private readonly records: { atMs: number; record: InvocationRecord }[] = [];

  claim(fn: string, eventId: string, leaseMs: number): Promise<Claim> {
    const key = `${fn}\u0000${eventId}`;
    const now = Date.now();
    const held = this.claims.get(key);
    if (held && held.untilMs > now) return Promise.resolve(held.state === 'done' ? 'done' : 'busy');
    this.claims.set(key, { state: 'run', untilMs: now + leaseMs });
    return Promise.resolve('run');
  }

  extend(fn: string, eventId: string, leaseMs: number): Promise<void> {
    const held = this.claims.get(`${fn}\u0000${eventId}`);
    if (held?.state === 'run') held.untilMs = Date.now() + leaseMs;
    return Promise.resolve();
  }

  complete(fn: string, eventId: string, keepMs: number): Promise<void> {
    this.claims.set(`${fn}\u0000${eventId}`, { state: 'done', untilMs: Date.now() + keepMs });
    return Promise.resolve();
  }

  release(fn: string, eventId: string): Promise<void> {
    const key = `${fn}\u0000${eventId}`;
    if (this.claims.get(key)?.state === 'run') this.claims.delete(key);
    return Promise.resolve();
  }

  record(record: InvocationRecord): Promise<void> {
    const now = Date.now();
    this.records.push({ atMs: now, record: structuredClone(record) });
    while (
      this.records.length > MAX_RECORDS ||
      (this.records.length > 0 && (this.records[0] as { atMs: number }).atMs < now - RECORD_RETENTION_MS)
    ) {
      this.records.shift();
    }
    for (const [key, claim] of this.claims) if (claim.untilMs <= now) this.claims.delete(key);
    return Promise.resolve();
  }

  recent({ function: fn, outcome, limit }: RecordFilter): Promise<InvocationRecord[]> {
    const found: InvocationRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && found.length < limit; i--) {
      const { record } = this.records[i] as { record: InvocationRecord };
      if ((!fn || record.function === fn) && (!outcome || record.outcome === outcome))
        found.push(structuredClone(record));
    }
    return Promise.resolve(found);
  }

  trimBefore(beforeMs: number): Promise<number> {
    const kept = this.records.findIndex((r) => r.atMs >= beforeMs);
    const gone = kept < 0 ? this.records.length : kept;
    this.records.splice(0, gone);
    return Promise.resolve(gone);
  }
}
