import type { RedisConnection } from '@mesh/redis';
import DataLoader from 'dataloader';
import {
  InvocationLedger,
  MAX_RECORDS,
  type Claim,
  type InvocationRecord,
  type RecordFilter,
} from './invocation-ledger.port';

/**
 * A function's claims are spread over CLAIM_SLOTS hash tags by event id, so that
 * on a Redis Cluster one busy function's claims spread over the shards while each
 * script call still touches one slot.
 */
const CLAIM_SLOTS = 8;
const keys = {
  claim: (fn: string, eventId: string) => `{fn:${fn}:${bucket(eventId)}}:event:${eventId}`,
  records: 'fn:invocations',
};

function bucket(eventId: string): number {
  let hash = 0;
  for (let i = 0; i < eventId.length; i++) hash = (hash * 31 + eventId.charCodeAt(i)) | 0;
  return Math.abs(hash) % CLAIM_SLOTS;
}

/*
 * Each call works on many events: a busy function host claims, completes and
 * records the events of a whole Kafka batch at once, so the ledger costs a
 * command per batch (per batch and hash tag on a Redis Cluster, pipelined
 * together) rather than three per event.
 */
// KEYS: claim keys. ARGV: lease ms, one per key. Answers 'run', 'done' or 'busy' per key.
const CLAIM = `
local answers = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], 'run', 'NX', 'PX', ARGV[i]) then answers[i] = 'run'
  elseif redis.call('GET', KEYS[i]) == 'done' then answers[i] = 'done'
  else answers[i] = 'busy' end
end
return answers
`;

// KEYS: claim keys. ARGV: lease ms, one per key. Only claims still running are extended.
const EXTEND = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == 'run' then redis.call('PEXPIRE', KEYS[i], ARGV[i]) end
end
return #KEYS
`;

// KEYS: claim keys. ARGV: keep ms, one per key.
const COMPLETE = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], 'done', 'PX', ARGV[i]) end
return #KEYS
`;

// KEYS: claim key
const RELEASE = `
if redis.call('GET', KEYS[1]) == 'run' then redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: records stream. ARGV: records kept (about), then one record (JSON) per entry.
const RECORD = `
for i = 2, #ARGV do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'r', ARGV[i]) end
return #ARGV - 1
`;

/** Most records read to answer a filtered query; the stream is also trimmed by age. */
const MAX_SCAN = 5_000;
/** Events in one ledger command at most. */
const MAX_PER_CALL = 500;

type Entry = { key: string; ms: number };

/**
 * Claims as Redis keys with a lease; records in one Redis stream capped at MAX_RECORDS.
 * Claims, completions and records made in the same tick share one command each.
 */
export class RedisInvocationLedger extends InvocationLedger {
  private readonly claims: DataLoader<Entry, Claim>;
  private readonly extensions: DataLoader<Entry, void>;
  private readonly completions: DataLoader<Entry, void>;
  private readonly records: DataLoader<InvocationRecord, void>;

  constructor(private readonly redis: RedisConnection) {
    super();
    redis.defineScript('meshClaims', CLAIM);
    redis.defineScript('meshExtends', EXTEND);
    redis.defineScript('meshCompletions', COMPLETE);
    redis.defineScript('meshRelease', RELEASE, 1);
    redis.defineScript('meshRecords', RECORD, 1);
    const options = { cache: false, maxBatchSize: MAX_PER_CALL } as const;
    // One Redis takes any keys in one script; a cluster, only keys of one slot.
    const perSlot = redis.clustered ? perHashTag : inOne;
    this.claims = new DataLoader(
      (batch) => perSlot(batch, (slot) => this.commands.meshClaims(slot.length, ...keysThenMs(slot))),
      options,
    );
    this.extensions = new DataLoader(async (batch) => {
      await perSlot(batch, async (slot) => {
        await this.commands.meshExtends(slot.length, ...keysThenMs(slot));
        return slot.map(() => undefined);
      });
      return batch.map(() => undefined);
    }, options);
    this.completions = new DataLoader(async (batch) => {
      await perSlot(batch, async (slot) => {
        await this.commands.meshCompletions(slot.length, ...keysThenMs(slot));
        return slot.map(() => undefined);
      });
      return batch.map(() => undefined);
    }, options);
    this.records = new DataLoader(async (batch) => {
      await this.commands.meshRecords(keys.records, MAX_RECORDS, ...batch.map((r) => JSON.stringify(r)));
      return batch.map(() => undefined);
    }, options);
  }

  private get commands(): {
    meshClaims(...args: (string | number)[]): Promise<Claim[]>;
    meshExtends(...args: (string | number)[]): Promise<number>;
    meshCompletions(...args: (string | number)[]): Promise<number>;
    meshRelease(key: string): Promise<number>;
    meshRecords(...args: (string | number)[]): Promise<number>;
  } {
    return this.redis.client as never;
  }

  claim(fn: string, eventId: string, leaseMs: number): Promise<Claim> {
    return this.claims.load({ key: keys.claim(fn, eventId), ms: leaseMs });
  }

  extend(fn: string, eventId: string, leaseMs: number): Promise<void> {
    return this.extensions.load({ key: keys.claim(fn, eventId), ms: leaseMs });
  }

  complete(fn: string, eventId: string, keepMs: number): Promise<void> {
    return this.completions.load({ key: keys.claim(fn, eventId), ms: keepMs });
  }

  async release(fn: string, eventId: string): Promise<void> {
    await this.commands.meshRelease(keys.claim(fn, eventId));
  }

  record(record: InvocationRecord): Promise<void> {
    return this.records.load(record);
  }

  /** Stream ids start with the time they were added (XADD '*'), so this is XTRIM MINID. */
  trimBefore(beforeMs: number): Promise<number> {
    return this.redis.client.xtrim(keys.records, 'MINID', `${Math.floor(beforeMs)}-0`);
  }

  async recent({ function: fn, outcome, limit }: RecordFilter): Promise<InvocationRecord[]> {
    const found: InvocationRecord[] = [];
    let end = '+';
    let scanned = 0;
    while (found.length < limit && scanned < MAX_SCAN) {
      const entries = await this.redis.client.xrevrange(keys.records, end, '-', 'COUNT', 500);
      for (const [id, fields] of entries) {
        const record = JSON.parse(fields[1] ?? '{}') as InvocationRecord;
        if ((!fn || record.function === fn) && (!outcome || record.outcome === outcome)) found.push(record);
        if (found.length === limit) break;
        end = `(${id}`;
      }
      scanned += entries.length;
      if (entries.length < 500) break;
    }
    return found;
  }
}

/** Runs `call` once for the whole batch. */
function inOne<T>(batch: readonly Entry[], call: (slot: Entry[]) => Promise<T[]>): Promise<T[]> {
  return call([...batch]);
}

/** Runs `call` once per hash tag among the batch's keys; answers in the batch's order. */
async function perHashTag<T>(batch: readonly Entry[], call: (slot: Entry[]) => Promise<T[]>): Promise<T[]> {
  const groups = new Map<string, number[]>();
  batch.forEach((entry, index) => {
    const tag = entry.key.slice(0, entry.key.indexOf('}') + 1);
    const group = groups.get(tag) ?? [];
    group.push(index);
    groups.set(tag, group);
  });
  const answers = new Array<T>(batch.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const replies = await call(indexes.map((i) => batch[i]!));
      indexes.forEach((index, i) => (answers[index] = replies[i]!));
    }),
  );
  return answers;
}

/** KEYS then ARGV of a batch: every key, then every key's milliseconds. */
function keysThenMs(batch: readonly Entry[]): (string | number)[] {
  return [...batch.map((e) => e.key), ...batch.map((e) => e.ms)];
}
