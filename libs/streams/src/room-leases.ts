import { RedisLeases, STREAMS_TAG, type RedisConnection } from '@mesh/redis';

/**
 * Who mixes a live room: one replica at a time holds its lease, renewing it while it mixes
 * the room. Kafka's partition ownership says which replica should; the lease makes sure two
 * never do at once while the group moves a room (the old owner still stopping its ffmpeg and
 * its playlist, the new one starting), and a dead owner's lease runs out on its own.
 */
export abstract class RoomLeases {
  /** Takes the room's lease for `owner` (or renews it, if it is already `owner`'s); false while another holds it. */
  abstract acquire(roomId: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Renews `owner`'s leases; answers the rooms whose lease another holds now. A lease that ran out
   * with nobody taking it (renewals failed while Redis failed over) is `owner`'s again.
   */
  abstract renew(roomIds: readonly string[], owner: string, ttlMs: number): Promise<string[]>;
  /** Gives the lease up, if `owner` holds it. */
  abstract release(roomId: string, owner: string): Promise<void>;
}

const leaseKey = (roomId: string) => `${STREAMS_TAG}:lease:${roomId}`;

/** Leases in Redis, beside the rooms (one hash slot): renewed and taken over atomically. */
export class RedisRoomLeases extends RoomLeases {
  private readonly leases: RedisLeases;

  constructor(redis: RedisConnection) {
    super();
    this.leases = new RedisLeases(redis);
  }

  acquire(roomId: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.leases.acquire(leaseKey(roomId), owner, ttlMs);
  }

  async renew(roomIds: readonly string[], owner: string, ttlMs: number): Promise<string[]> {
    const lost = new Set(await this.leases.renew(roomIds.map(leaseKey), owner, ttlMs));
    return roomIds.filter((id) => lost.has(leaseKey(id)));
  }

  release(roomId: string, owner: string): Promise<void> {
    return this.leases.release(leaseKey(roomId), owner);
  }
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
    const lost = roomIds.filter((id) => ![owner, null].includes(this.held(id)));
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
