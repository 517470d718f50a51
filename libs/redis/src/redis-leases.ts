import type { RedisConnection } from './redis-connection';

// KEYS: lease. ARGV: holder, ttl ms. 1 when the lease is (now) the holder's.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

// KEYS: leases. ARGV: holder, ttl ms. The indexes (1-based) of the leases another holds now; the holder's
// own are renewed, and those nobody holds (run out) are the holder's again.
const RENEW = `
local lost = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current and current ~= ARGV[1] then lost[#lost + 1] = i else redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return lost
`;

// KEYS: lease. ARGV: holder.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Leases a holder takes, renews and gives up: a key naming its holder, with a time to live,
 * so a dead holder's lease runs out on its own. Each step is one script: taken only when
 * free or already the holder's, renewed and given up only by its holder.
 */
export class RedisLeases {
  constructor(private readonly redis: RedisConnection) {
    redis.defineScript('meshLeaseAcquire', ACQUIRE, 1);
    redis.defineScript('meshLeaseRelease', RELEASE, 1);
    redis.defineScript('meshLeaseRenew', RENEW);
  }

  /** Takes the lease for `holder` (or renews it, if it is `holder`'s already); false while another holds it. */
  async acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.commands.meshLeaseAcquire(key, holder, String(ttlMs))) === 1;
  }

  /**
   * Renews `holder`'s leases (keys of one hash slot on a cluster); answers the keys another holds now.
   * A lease that ran out with nobody taking it is `holder`'s again: what it guards was never anyone
   * else's meanwhile. That happens when renewals fail for longer than the lease lasts (a Redis
   * master failing over), or when the promoted replica never had the key.
   */
  async renew(keys: readonly string[], holder: string, ttlMs: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const lost = await this.commands.meshLeaseRenew(keys.length, ...keys, holder, String(ttlMs));
    return lost.map((i) => keys[i - 1]!);
  }

  /** Gives the lease up, if `holder` holds it. */
  async release(key: string, holder: string): Promise<void> {
    await this.commands.meshLeaseRelease(key, holder);
  }

  private get commands(): LeaseCommands {
    return this.redis.client as unknown as LeaseCommands;
  }
}

interface LeaseCommands {
  meshLeaseAcquire(key: string, holder: string, ttlMs: string): Promise<number>;
  meshLeaseRelease(key: string, holder: string): Promise<number>;
  meshLeaseRenew(keys: number, ...args: string[]): Promise<number[]>;
}
