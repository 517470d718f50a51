import type { CloudEvent } from '@mesh/bus';
import { StreamJob, StreamSpec } from '@mesh/contracts';
import { outboxFields, outboxKey } from '@mesh/outbox';
import { STREAMS_TAG, type RedisConnection } from '@mesh/redis';
import type { StreamChange } from './stream-changes';
import {
  LiveRoomLimitReached,
  StreamStore,
  type LiveLoad,
  type LiveRoomLimits,
  type StoredStream,
} from './stream-store.port';

/** All under one hash tag, with their outbox: a room's commit checks the live limits over every room at once. */
const keys = {
  stream: (id: string) => `${STREAMS_TAG}:stream:${id}`,
  /** Stream ids, all at score 0, so they sort by id: ULIDs sort by creation time. */
  all: `${STREAMS_TAG}:streams:all`,
  /** Ids of the streams asked to be live: all of them (scored by their inputs), and each host's. */
  live: `${STREAMS_TAG}:streams:live`,
  hostLive: (hostId: string) => `${STREAMS_TAG}:streams:live:${hostId}`,
  outbox: outboxKey(STREAMS_TAG),
};

/*
 * The live indexes follow the spec: in them while it is asked to be live, the index of all live rooms
 * scoring each by its inputs (what scaling the mix counts). KEYS 3, 4: all live, the host's live.
 */
const FOLLOW_LIVE = `
local function follow(live, id, spec)
  if live then
    redis.call('ZADD', KEYS[3], #cjson.decode(spec).participants, id)
    redis.call('ZADD', KEYS[4], 0, id)
  else
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
  end
end
`;

// KEYS: stream, index, live, host's live, outbox. ARGV: expected revision ('' = new), spec, new revision,
//       start revision ('' = none), id, live ('1' or ''), host limit ('' = none), total limit ('' = none),
//       outbox fields (none, or topic, event)
// Answers 1, 0 (changed meanwhile), -2 (the host's live limit), -3 (the total live limit).
const COMMIT = `${FOLLOW_LIVE}
if (redis.call('HGET', KEYS[1], 'rev') or '') ~= ARGV[1] then return 0 end
local live = ARGV[6] == '1'
if live and not redis.call('ZSCORE', KEYS[3], ARGV[5]) then
  if ARGV[7] ~= '' and redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[7]) then return -2 end
  if ARGV[8] ~= '' and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8]) then return -3 end
end
redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'rev', ARGV[3], 'start', ARGV[4])
if ARGV[1] == '' then redis.call('ZADD', KEYS[2], 0, ARGV[5]) end
follow(live, ARGV[5], ARGV[2])
if #ARGV > 8 then redis.call('XADD', KEYS[5], '*', unpack(ARGV, 9)) end
return 1
`;

// KEYS: stream, index, live, host's live. ARGV: spec, revision, start revision ('' = none), id, live ('1' or '')
const RESTORE = `${FOLLOW_LIVE}
if tonumber(redis.call('HGET', KEYS[1], 'rev') or '-1') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'rev', ARGV[2], 'start', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
follow(ARGV[5] == '1', ARGV[4], ARGV[1])
return 1
`;

// KEYS: all live. Answers the rooms, and their inputs in all.
const LIVE_LOAD = `
local scored = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local inputs = 0
for i = 2, #scored, 2 do inputs = inputs + tonumber(scored[i]) end
return { #scored / 2, inputs }
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
    redis.defineScript('meshStreamCommit', COMMIT, 5);
    redis.defineScript('meshStreamJob', RECORD_JOB, 1);
    redis.defineScript('meshStreamRestore', RESTORE, 4);
    redis.defineScript('meshStreamLiveLoad', LIVE_LOAD, 1);
  }

  async stream(id: string): Promise<StoredStream | null> {
    const [spec, job] = await this.redis.client.hmget(keys.stream(id), 'spec', 'job');
    return parseStored(spec ?? null, job ?? null);
  }

  async commit(change: StreamChange, event?: CloudEvent, limits?: LiveRoomLimits): Promise<boolean> {
    const { after, before } = change;
    const done = await this.commands.meshStreamCommit(
      keys.stream(after.id),
      keys.all,
      keys.live,
      keys.hostLive(after.hostId),
      keys.outbox,
      before ? String(before.revision) : '',
      JSON.stringify(after),
      String(after.revision),
      after.startRevision === null ? '' : String(after.startRevision),
      after.id,
      after.desired === 'live' ? '1' : '',
      limits ? String(limits.perHost) : '',
      limits ? String(limits.total) : '',
      ...(event ? outboxFields('streams', event) : []),
    );
    if (done === -2 && limits) throw new LiveRoomLimitReached('host', limits.perHost);
    if (done === -3 && limits) throw new LiveRoomLimitReached('total', limits.total);
    return done === 1;
  }

  async restore(specs: readonly StreamSpec[]): Promise<number> {
    const written = await Promise.all(
      specs.map((spec) =>
        this.commands.meshStreamRestore(
          keys.stream(spec.id),
          keys.all,
          keys.live,
          keys.hostLive(spec.hostId),
          JSON.stringify(spec),
          String(spec.revision),
          spec.startRevision === null ? '' : String(spec.startRevision),
          spec.id,
          spec.desired === 'live' ? '1' : '',
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

  async liveLoad(): Promise<LiveLoad> {
    const [rooms, inputs] = await this.commands.meshStreamLiveLoad(keys.live);
    return { rooms, inputs };
  }

  incarnation(): Promise<string> {
    return this.redis.serverRunId(keys.all);
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }
}

interface ScriptCommands {
  meshStreamCommit(...args: string[]): Promise<number>;
  meshStreamJob(...args: string[]): Promise<number>;
  meshStreamRestore(...args: string[]): Promise<number>;
  meshStreamLiveLoad(key: string): Promise<[number, number]>;
}

function parseStored(spec: string | null, job: string | null): StoredStream | null {
  if (spec === null) return null;
  return {
    spec: StreamSpec.parse(JSON.parse(spec)),
    job: job === null ? null : StreamJob.parse(JSON.parse(job)),
  };
}
