import type { RedisConnection } from '@mesh/redis';
import { ScheduleStore, type ScheduleState, type TickClaim } from './schedule-store.port';

const key = (schedule: string) => `schedule:${schedule}`;

/*
 * One hash per schedule: `tick` (the last tick fired), `at` (when), and the lease
 * of a tick being fired (`lease` tick, `until` ms). The lease is per schedule, so a
 * schedule's ticks fire one after another, in order, whichever replica fires them.
 * KEYS: schedule hash. ARGV: tick ms, lease ms, now ms.
 */
const CLAIM = `
local last = tonumber(redis.call('HGET', KEYS[1], 'tick') or '-1')
if last >= tonumber(ARGV[1]) then return 'done' end
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if untilMs > tonumber(ARGV[3]) then return 'busy' end
redis.call('HSET', KEYS[1], 'lease', ARGV[1], 'until', tonumber(ARGV[3]) + tonumber(ARGV[2]))
return 'run'
`;

// KEYS: schedule hash. ARGV: tick ms, fired at ms.
const FIRED = `
local last = tonumber(redis.call('HGET', KEYS[1], 'tick') or '-1')
if last < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'tick', ARGV[1], 'at', ARGV[2]) end
if redis.call('HGET', KEYS[1], 'lease') == ARGV[1] then redis.call('HDEL', KEYS[1], 'lease', 'until') end
return 0
`;

/** Schedules' state in Redis hashes; the leases use Redis' view of time passing through the callers' clocks. */
export class RedisScheduleStore extends ScheduleStore {
  constructor(private readonly redis: RedisConnection) {
    super();
    redis.defineScript('meshClaimTick', CLAIM, 1);
    redis.defineScript('meshTickFired', FIRED, 1);
  }

  private get commands(): {
    meshClaimTick(key: string, tickMs: number, leaseMs: number, nowMs: number): Promise<TickClaim>;
    meshTickFired(key: string, tickMs: number, atMs: number): Promise<number>;
  } {
    return this.redis.client as never;
  }

  claim(schedule: string, tickMs: number, leaseMs: number): Promise<TickClaim> {
    return this.commands.meshClaimTick(key(schedule), tickMs, leaseMs, Date.now());
  }

  async fired(schedule: string, tickMs: number, atMs: number): Promise<void> {
    await this.commands.meshTickFired(key(schedule), tickMs, atMs);
  }

  /** One read per schedule, made at once (auto-pipelined: per node, on a cluster, where the schedules' keys spread). */
  async states(schedules: readonly string[]): Promise<(ScheduleState | null)[]> {
    const replies = await Promise.all(schedules.map((name) => this.redis.client.hmget(key(name), 'tick', 'at')));
    return replies.map(([tick, at]) =>
      tick === null || at === null || tick === undefined || at === undefined
        ? null
        : { lastTickMs: Number(tick), firedAtMs: Number(at) },
    );
  }
}
