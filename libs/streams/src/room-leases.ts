import { STREAMS_TAG, type RedisConnection } from '@mesh/redis';

/**
 * Who mixes a live room: one replica at a time holds its lease, renewing it while it mixes
 * the room. Kafka's partition ownership says which replica should; the lease makes sure two
 * never do at once while the group moves a room (the old owner still stopping its ffmpeg and
 * its playlist, the new one starting), and a dead owner's lease runs out on its own.
 */
export abstract class RoomLeases {
  /** Takes the room's lease for `owner` (or renews it, if it is already `owner`'s); false while another holds it. */
  abstract acquire(roomId: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Renews `owner`'s leases; answers the rooms whose lease it no longer holds. */
  abstract renew(roomIds: readonly string[], owner: string, ttlMs: number): Promise<string[]>;
  /** Gives the lease up, if `owner` holds it. */
  abstract release(roomId: string, owner: string): Promise<void>;
}

const leaseKey = (roomId: string) => `${STREAMS_TAG}:lease:${roomId}`;

// KEYS: lease. ARGV: owner, ttl ms. 1 when the lease is (now) the owner's.
const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

// KEYS: leases. ARGV: owner, ttl ms. The indexes (1-based) of the leases not the owner's any more.
const RENEW = `
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) else lost[#lost + 1] = i end
end
return lost
`;

// KEYS: lease. ARGV: owner.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/** Leases in Redis, beside the rooms (one hash slot): renewed and taken over atomically. */
export class RedisRoomLeases extends RoomLeases {
  constructor(private readonly redis: RedisConnection) {
    super();
    redis.defineScript('meshLeaseAcquire', ACQUIRE, 1);
    redis.defineScript('meshLeaseRelease', RELEASE, 1);
    redis.defineScript('meshLeaseRenew', RENEW);
  }

  async acquire(roomId: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.commands.meshLeaseAcquire(leaseKey(roomId), owner, String(ttlMs))) === 1;
  }

  async renew(roomIds: readonly string[], owner: string, ttlMs: number): Promise<string[]> {
    if (roomIds.length === 0) return [];
    const lost = await this.commands.meshLeaseRenew(roomIds.length, ...roomIds.map(leaseKey), owner, String(ttlMs));
    return lost.map((i) => roomIds[i - 1]!);
  }

  async release(roomId: string, owner: string): Promise<void> {
    await this.commands.meshLeaseRelease(leaseKey(roomId), owner);
  }

  private get commands(): LeaseCommands {
    return this.redis.client as unknown as LeaseCommands;
  }
}

interface LeaseCommands {
  meshLeaseAcquire(key: string, owner: string, ttlMs: string): Promise<number>;
  meshLeaseRelease(key: string, owner: string): Promise<number>;
  meshLeaseRenew(keys: number, ...args: string[]): Promise<number[]>;
}

/** Leases in process memory, for the embedded default and small tests. */
export class MemoryRoomLeases extends RoomLeases {
  private readonly leases = new Map<string, { owner: string; until: number }>();

  acquire(roomId: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.held(roomId);
    if (held && held !== owner) return Promise.resolve(false);
    this.leases.set(roomId, { owner, until: Date.now() + ttlMs });
    return Promise.resolve(true);
  }

  renew(roomIds: readonly string[], owner: string, ttlMs: number): Promise<string[]> {
    const lost = roomIds.filter((id) => this.held(id) !== owner);
    for (const id of roomIds) if (!lost.includes(id)) this.leases.set(id, { owner, until: Date.now() + ttlMs });
    return Promise.resolve(lost);
  }

  release(roomId: string, owner: string): Promise<void> {
    if (this.held(roomId) === owner) this.leases.delete(roomId);
    return Promise.resolve();
  }

  private held(roomId: string): string | null {
    const lease = this.leases.get(roomId);
    return lease && lease.until > Date.now() ? lease.owner : null;
  }
}
