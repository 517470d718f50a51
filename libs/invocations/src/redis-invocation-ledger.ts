import type { RedisConnection } from '@mesh/redis';
import {
  InvocationLedger,
  MAX_RECORDS,
  type Claim,
  type InvocationRecord,
  type RecordFilter,
} from './invocation-ledger.port';

const keys = {
  claim: (fn: string, eventId: string) => `fn:${fn}:event:${eventId}`,
  records: 'fn:invocations',
};

// KEYS: claim key. ARGV: lease ms
const CLAIM = `
if redis.call('SET', KEYS[1], 'run', 'NX', 'PX', ARGV[1]) then return 'run' end
if redis.call('GET', KEYS[1]) == 'done' then return 'done' end
return 'busy'
`;

// KEYS: claim key
const RELEASE = `
if redis.call('GET', KEYS[1]) == 'run' then redis.call('DEL', KEYS[1]) end
return 0
`;

/** Most records read to answer a filtered query; the stream is also trimmed by age. */
const MAX_SCAN = 5_000;

/** Claims as Redis keys with a lease; records in one Redis stream capped at MAX_RECORDS. */
export class RedisInvocationLedger extends InvocationLedger {
  constructor(private readonly redis: RedisConnection) {
    super();
    redis.client.defineCommand('meshClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.client.defineCommand('meshRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  private get commands(): {
    meshClaim(key: string, leaseMs: number): Promise<Claim>;
    meshRelease(key: string): Promise<number>;
  } {
    return this.redis.client as never;
  }

  claim(fn: string, eventId: string, leaseMs: number): Promise<Claim> {
    return this.commands.meshClaim(keys.claim(fn, eventId), leaseMs);
  }

  async complete(fn: string, eventId: string, keepMs: number): Promise<void> {
    await this.redis.client.set(keys.claim(fn, eventId), 'done', 'PX', keepMs);
  }

  async release(fn: string, eventId: string): Promise<void> {
    await this.commands.meshRelease(keys.claim(fn, eventId));
  }

  async record(record: InvocationRecord): Promise<void> {
    await this.redis.client.xadd(keys.records, 'MAXLEN', '~', MAX_RECORDS, '*', 'r', JSON.stringify(record));
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
