import type { ServerEventName } from '@mesh/contracts';
import type { RedisConnection } from '@mesh/redis';
import DataLoader from 'dataloader';
import { PushHistory, type HistoryLimits, type PushRecord, type RoomHistorySince } from './push-history.port';

/**
 * One hash tag for all of it: a push's offset is taken from one sequence for every
 * room it goes to, in one script (one slot of a Redis Cluster, on one shard).
 */
const TAG = '{history}';
const keys = {
  /** A hash: `n` the last offset given out, `run` the server's run it was given out on, `from` the first offset of that run. */
  sequence: `${TAG}:sequence`,
  room: (room: string) => `${TAG}:${room}`,
  /** The push's event and payload, kept once whatever the number of its rooms (`{history}:push:<offset>`). */
  pushPrefix: `${TAG}:push:`,
};

/*
 * The sequence (KEYS[1]) on a server it was not last used on (the first push ever, Redis restarted
 * and may have lost its last second, or a replica promoted without the last writes): it jumps to
 * the clock in microseconds, above any offset given out before (one push per microsecond is far
 * off), and the run's first offset is kept, so resumes from an offset before it say they may have
 * missed something (what the old server gave out after the replica's copy is gone).
 */
const NEW_RUN = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
if redis.call('HGET', KEYS[1], 'run') ~= run then
  local t = redis.call('TIME')
  local n = math.max(tonumber(redis.call('HGET', KEYS[1], 'n') or '0'), tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('HSET', KEYS[1], 'n', string.format('%d', n), 'from', string.format('%d', n + 1), 'run', run)
end
`;

/*
 * Pushes into the history of each of their rooms, each atomically with taking
 * its offset, so every room's entries are in offset order whoever appends. Each
 * entry names the offset of the one before it in its room (`v`), so a reader
 * can tell when entries after an offset were trimmed away. The sequence starts
 * each server run from the clock (NEW_RUN).
 * The payload is kept once per push (not once per room), expiring with the window,
 * under a key the script names itself, in the same slot as the declared keys (the
 * tag), which a Redis Cluster allows.
 * One call appends every push made in the same tick (a busy function's batch), in turn.
 * KEYS: sequence, then the room streams of each push in turn.
 * ARGV: max per room, window ms, payload key prefix, then per push: its number of rooms, id, event, payload JSON, rooms JSON.
 * Answers the offset of each push.
 */
const APPEND = `
${NEW_RUN}
local offsets = {}
local k = 2
for a = 4, #ARGV, 5 do
  local rooms = tonumber(ARGV[a])
  local offset = string.format('%d', redis.call('HINCRBY', KEYS[1], 'n', 1))
  redis.call('SET', ARGV[3] .. offset, ARGV[a + 3], 'PX', ARGV[2])
  for i = k, k + rooms - 1 do
    local last = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)[1]
    local prev = last and string.match(last[1], '^(%d+)') or string.format('%d', tonumber(offset) - 1)
    redis.call('XADD', KEYS[i], 'MAXLEN', ARGV[1], offset .. '-0', 'id', ARGV[a + 1], 'e', ARGV[a + 2], 'r', ARGV[a + 4], 'v', prev)
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
  offsets[#offsets + 1] = offset
  k = k + rooms
end
return offsets
`;
/** Pushes appended in one call at most. */
const MAX_PUSHES_PER_CALL = 200;

interface Append {
  rooms: readonly string[];
  push: { id: string; event: ServerEventName; payload: unknown };
}

/*
 * KEYS: sequence, room stream. ARGV: offset, count, payload key prefix.
 * Answers false when the room has no history or the offset was never given out;
 * else { complete (1, or 0 when entries after the offset were trimmed or lost), entries }.
 */
const SINCE = `
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local after = tonumber(ARGV[1])
local seq = redis.call('HMGET', KEYS[1], 'n', 'run', 'from')
if after > tonumber(seq[1] or '0') then return false end
local complete = 1
-- Given out before this server's run, or nothing given out on this run yet: what followed may be gone.
if after + 1 < tonumber(seq[3] or '0') or seq[2] ~= string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') then
  complete = 0
end
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
if first then
  local fields = first[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'v' and after < tonumber(fields[i + 1]) then complete = 0 end
  end
end
local kept = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])) do
  local payload = redis.call('GET', ARGV[3] .. string.match(entry[1], '^(%d+)'))
  if payload then
    table.insert(entry[2], 'p')
    table.insert(entry[2], payload)
    table.insert(kept, entry)
  else
    complete = 0
  end
end
return { complete, kept }
`;

/**
 * Room histories as Redis streams (`history:<room>`), the entry id being the
 * push's offset; trimmed to a number of entries and expiring when idle.
 */
export class RedisPushHistory extends PushHistory {
  /** Payload keys are named inside the scripts, so they carry the connection's key prefix themselves. */
  private readonly payloadPrefix: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly limits: HistoryLimits,
  ) {
    super();
    this.payloadPrefix = `${redis.options.keyPrefix}${keys.pushPrefix}`;
    redis.defineScript('meshHistoryAppend', APPEND);
    redis.defineScript('meshHistorySince', SINCE, 2);
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }

  /** Pushes appended in the same tick share one script call. */
  append(rooms: readonly string[], push: { id: string; event: ServerEventName; payload: unknown }): Promise<string> {
    return this.appends.load({ rooms, push });
  }

  private readonly appends = new DataLoader<Append, string>(
    (batch) =>
      this.commands.meshHistoryAppend(
        1 + batch.reduce((n, a) => n + a.rooms.length, 0),
        keys.sequence,
        ...batch.flatMap((a) => a.rooms.map(keys.room)),
        String(this.limits.maxPerRoom),
        String(this.limits.windowMs),
        this.payloadPrefix,
        ...batch.flatMap(({ rooms, push }) => [
          String(rooms.length),
          push.id,
          push.event,
          JSON.stringify(push.payload),
          JSON.stringify(rooms),
        ]),
      ),
    { cache: false, maxBatchSize: MAX_PUSHES_PER_CALL },
  );

  async position(): Promise<string> {
    return (await this.redis.client.hget(keys.sequence, 'n')) ?? '0';
  }

  async since(room: string, offset: string): Promise<RoomHistorySince | null> {
    const reply = await this.commands.meshHistorySince(
      keys.sequence,
      keys.room(room),
      offset,
      this.limits.maxPerRoom,
      this.payloadPrefix,
    );
    if (!reply) return null;
    const [complete, entries] = reply;
    const records = entries.map(([entryId, fields]): PushRecord => {
      const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
      return {
        id: field('id'),
        offset: entryId.slice(0, entryId.indexOf('-')),
        rooms: JSON.parse(field('r')) as string[],
        event: field('e') as ServerEventName,
        payload: JSON.parse(field('p')) as unknown,
      };
    });
    return { records, complete: complete === 1 };
  }
}

interface ScriptCommands {
  meshHistoryAppend(numberOfKeys: number, ...args: string[]): Promise<string[]>;
  meshHistorySince(
    sequence: string,
    room: string,
    offset: string,
    count: number,
    payloadPrefix: string,
  ): Promise<[number, [string, string[]][]] | null>;
}
