import type { CloudEvent } from '@mesh/bus';
import { StreamJob, StreamSpec } from '@mesh/contracts';
import { OUTBOX_KEY, outboxFields } from '@mesh/outbox';
import type { RedisConnection } from '@mesh/redis';
import type { StreamChange } from './stream-changes';
import { StreamStore, type StoredStream } from './stream-store.port';

const keys = {
  stream: (id: string) => `stream:${id}`,
  /** Stream ids, all at score 0, so they sort by id: ULIDs sort by creation time. */
  all: 'streams:all',
};

// KEYS: stream, index, outbox. ARGV: expected revision ('' = new), spec, new revision, start revision ('' = none), id,
//       outbox fields (none, or topic, event)
const COMMIT = `
if (redis.call('HGET', KEYS[1], 'rev') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'rev', ARGV[3], 'start', ARGV[4])
if ARGV[1] == '' then redis.call('ZADD', KEYS[2], 0, ARGV[5]) end
if #ARGV > 5 then redis.call('XADD', KEYS[3], '*', unpack(ARGV, 6)) end
return 1
`;

// KEYS: stream, index. ARGV: spec, revision, start revision ('' = none), id
const RESTORE = `
if tonumber(redis.call('HGET', KEYS[1], 'rev') or '-1') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'rev', ARGV[2], 'start', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
return 1
`;

// KEYS: stream. ARGV: the report's start revision, report
const RECORD_JOB = `
if (redis.call('HGET', KEYS[1], 'start') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'job', ARGV[2])
return 1
`;

/** Streams in Redis: a hash per stream (`spec`, `rev`, `start`, `job`) and an index of ids. */
export class RedisStreamStore extends StreamStore {
  constructor(private readonly redis: RedisConnection) {
    super();
    redis.client.defineCommand('meshStreamCommit', { numberOfKeys: 3, lua: COMMIT });
    redis.client.defineCommand('meshStreamJob', { numberOfKeys: 1, lua: RECORD_JOB });
    redis.client.defineCommand('meshStreamRestore', { numberOfKeys: 2, lua: RESTORE });
  }

  async stream(id: string): Promise<StoredStream | null> {
    const [spec, job] = await this.redis.client.hmget(keys.stream(id), 'spec', 'job');
    return parseStored(spec ?? null, job ?? null);
  }

  async commit(change: StreamChange, event?: CloudEvent): Promise<boolean> {
    const { after, before } = change;
    const done = await this.commands.meshStreamCommit(
      keys.stream(after.id),
      keys.all,
      OUTBOX_KEY,
      before ? String(before.revision) : '',
      JSON.stringify(after),
      String(after.revision),
      after.startRevision === null ? '' : String(after.startRevision),
      after.id,
      ...(event ? outboxFields('streams', event) : []),
    );
    return done === 1;
  }

  async restore(specs: readonly StreamSpec[]): Promise<number> {
    const written = await Promise.all(
      specs.map((spec) =>
        this.commands.meshStreamRestore(
          keys.stream(spec.id),
          keys.all,
          JSON.stringify(spec),
          String(spec.revision),
          spec.startRevision === null ? '' : String(spec.startRevision),
          spec.id,
        ),
      ),
    );
    return written.filter((w) => w === 1).length;
  }

  async recordJob(streamId: string, job: StreamJob): Promise<boolean> {
    const done = await this.commands.meshStreamJob(
      keys.stream(streamId),
      String(job.startRevision),
      JSON.stringify(job),
    );
    return done === 1;
  }

  async list(limit: number): Promise<StoredStream[]> {
    const ids = await this.redis.client.zrevrangebylex(keys.all, '+', '-', 'LIMIT', 0, limit);
    const rows = await Promise.all(ids.map((id) => this.stream(id)));
    return rows.filter((row): row is StoredStream => row !== null);
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }
}

interface ScriptCommands {
  meshStreamCommit(...args: string[]): Promise<number>;
  meshStreamJob(...args: string[]): Promise<number>;
  meshStreamRestore(...args: string[]): Promise<number>;
}

function parseStored(spec: string | null, job: string | null): StoredStream | null {
  if (spec === null) return null;
  return {
    spec: StreamSpec.parse(JSON.parse(spec)),
    job: job === null ? null : StreamJob.parse(JSON.parse(job)),
  };
}
