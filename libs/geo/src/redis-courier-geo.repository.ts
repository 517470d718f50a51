import { CourierStatus, DEFAULT_VEHICLE, Vehicle, type CourierView, type NearbyCourier } from '@mesh/contracts';
import type { RedisConnection } from '@mesh/redis';
import DataLoader from 'dataloader';
import {
  CourierGeoRepository,
  offlineCourier,
  roundMetres,
  type AvailableCourier,
  type AvailabilityResult,
  type CourierFix,
  type NearbySearch,
  type RecordedFix,
} from './courier-geo.repository';

/** Where couriers live in Redis; the dispatch store works on the same hash and available index. */
export const courierKeys = {
  courier: (id: string) => `courier:${id}`,
  online: 'couriers:geo',
  available: 'couriers:geo:available',
};
const keys = courierKeys;

/* Both scripts keep the hash and the two indexes consistent in one atomic step. */

/*
 * Fixes of many couriers in one call (a busy location function records a whole
 * Kafka batch at once), each in its turn: a fix older than the one stored is
 * skipped (0), else stored and indexed when the courier is online, answering its
 * active order id ('' for none).
 * (On a Redis Cluster one call must hold couriers of one slot: the cluster issue groups them by market.)
 * KEYS: online index, available index, then one courier hash per fix.
 * ARGV: per fix, FIELDS values: id, lng, lat, atMs, at, heading, speedMps, accuracyM
 */
const FIELDS = 8;
const RECORD_LOCATIONS = `
local answers = {}
for i = 3, #KEYS do
  local courier = KEYS[i]
  local a = (i - 3) * ${FIELDS}
  local prev = tonumber(redis.call('HGET', courier, 'atMs'))
  if prev and tonumber(ARGV[a + 4]) < prev then
    answers[#answers + 1] = 0
  else
    redis.call('HSET', courier, 'lng', ARGV[a + 2], 'lat', ARGV[a + 3], 'atMs', ARGV[a + 4], 'at', ARGV[a + 5],
      'heading', ARGV[a + 6], 'speedMps', ARGV[a + 7], 'accuracyM', ARGV[a + 8])
    local status = redis.call('HGET', courier, 'status')
    if status and status ~= 'offline' then redis.call('GEOADD', KEYS[1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 1]) end
    if status == 'available' then redis.call('GEOADD', KEYS[2], ARGV[a + 2], ARGV[a + 3], ARGV[a + 1]) end
    answers[#answers + 1] = redis.call('HGET', courier, 'activeOrderId') or ''
  end
end
return answers
`;
/** Fixes recorded in one script call at most; more wait for the next. */
const MAX_FIXES_PER_CALL = 500;

// KEYS: courier hash, online index, available index. ARGV: id, '1' | '0', vehicle
const SET_AVAILABILITY = `
local status = redis.call('HGET', KEYS[1], 'status') or 'offline'
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'vehicle', ARGV[3])
  if status == 'offline' then
    status = 'available'
    redis.call('HSET', KEYS[1], 'status', status)
    local lng = redis.call('HGET', KEYS[1], 'lng')
    if lng then
      local lat = redis.call('HGET', KEYS[1], 'lat')
      redis.call('GEOADD', KEYS[2], lng, lat, ARGV[1])
      redis.call('GEOADD', KEYS[3], lng, lat, ARGV[1])
    end
  end
  return {'ok', status}
end
if status == 'offered' or status == 'busy' then return {'engaged', status} end
redis.call('HSET', KEYS[1], 'status', 'offline')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return {'ok', 'offline'}
`;

const VIEW_FIELDS = ['status', 'lat', 'lng', 'at', 'activeOrderId'] as const;

/** Couriers in Redis: a hash per courier and GEO sets for online and available couriers. */
export class RedisCourierGeoRepository extends CourierGeoRepository {
  constructor(private readonly redis: RedisConnection) {
    super();
    redis.client.defineCommand('meshRecordLocations', { lua: RECORD_LOCATIONS });
    redis.client.defineCommand('meshSetAvailability', { numberOfKeys: 3, lua: SET_AVAILABILITY });
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }

  /** Fixes recorded in the same tick share one script call. */
  recordLocation(courierId: string, fix: CourierFix): Promise<RecordedFix | null> {
    return this.fixes.load({ courierId, fix });
  }

  private readonly fixes = new DataLoader<{ courierId: string; fix: CourierFix }, RecordedFix | null>(
    async (batch) => {
      const answers = await this.commands.meshRecordLocations(
        2 + batch.length,
        keys.online,
        keys.available,
        ...batch.map(({ courierId }) => keys.courier(courierId)),
        ...batch.flatMap(({ courierId, fix }) => [
          courierId,
          fix.lng,
          fix.lat,
          Date.parse(fix.at),
          fix.at,
          fix.heading ?? '',
          fix.speedMps ?? '',
          fix.accuracyM ?? '',
        ]),
      );
      return answers.map((answer) => (answer === 0 ? null : { activeOrderId: answer || null }));
    },
    { cache: false, maxBatchSize: MAX_FIXES_PER_CALL },
  );

  async setAvailability(
    courierId: string,
    available: boolean,
    vehicle: Vehicle = DEFAULT_VEHICLE,
  ): Promise<AvailabilityResult> {
    const [outcome, status] = await this.commands.meshSetAvailability(
      keys.courier(courierId),
      keys.online,
      keys.available,
      courierId,
      available ? '1' : '0',
      vehicle,
    );
    const parsed = CourierStatus.parse(status);
    if (outcome === 'engaged') return { outcome: 'engaged', status: parsed };
    return { outcome: 'ok', courier: await this.get(courierId) };
  }

  async get(courierId: string): Promise<CourierView> {
    const values = await this.redis.client.hmget(keys.courier(courierId), ...VIEW_FIELDS);
    return toView(courierId, values);
  }

  async online(limit: number): Promise<CourierView[]> {
    const ids = await this.redis.client.zrangebylex(keys.online, '-', '+', 'LIMIT', 0, limit);
    const rows = await Promise.all(ids.map((id) => this.redis.client.hmget(keys.courier(id), ...VIEW_FIELDS)));
    return ids.map((id, i) => toView(id, rows[i] ?? []));
  }

  /** Members of a GEO index within the radius, nearest first, with distance and position. */
  private async search(
    index: string,
    { lat, lng, radiusM, limit }: NearbySearch,
  ): Promise<[id: string, distance: string, position: [lng: string, lat: string]][]> {
    return (await this.redis.client.geosearch(
      index,
      'FROMLONLAT',
      lng,
      lat,
      'BYRADIUS',
      radiusM,
      'm',
      'ASC',
      'COUNT',
      limit,
      'WITHDIST',
      'WITHCOORD',
    )) as [string, string, [string, string]][];
  }

  async nearby(search: NearbySearch): Promise<NearbyCourier[]> {
    const hits = await this.search(keys.online, search);
    if (hits.length === 0) return [];
    const rows = await Promise.all(hits.map(([id]) => this.redis.client.hmget(keys.courier(id), ...VIEW_FIELDS)));
    return hits.map(([id, distance], i) => ({
      ...toView(id, rows[i] ?? []),
      distanceM: roundMetres(Number(distance)),
    }));
  }

  async nearestAvailable(search: NearbySearch & { fixedSinceMs?: number }): Promise<AvailableCourier[]> {
    const { fixedSinceMs } = search;
    const hits = await this.search(keys.available, search);
    if (hits.length === 0) return [];
    const details = await Promise.all(hits.map(([id]) => this.redis.client.hmget(keys.courier(id), 'vehicle', 'atMs')));
    return hits.flatMap(([id, distance, [hitLng, hitLat]], i) => {
      const [vehicle, atMs] = details[i] ?? [];
      if (fixedSinceMs !== undefined && Number(atMs ?? 0) < fixedSinceMs) return [];
      return [
        {
          id,
          lat: Number(hitLat),
          lng: Number(hitLng),
          distanceM: roundMetres(Number(distance)),
          vehicle: Vehicle.catch(DEFAULT_VEHICLE).parse(vehicle),
        },
      ];
    });
  }

  ping(): Promise<void> {
    return this.redis.ping();
  }
}

interface ScriptCommands {
  /** Per fix, the courier's active order id ('' for none), or 0 when the fix was older than the stored one. */
  meshRecordLocations(...args: (string | number)[]): Promise<(string | 0)[]>;
  meshSetAvailability(...args: string[]): Promise<[string, string]>;
}

function toView(id: string, [status, lat, lng, at, activeOrderId]: (string | null)[]): CourierView {
  if (!status && !lat) return offlineCourier(id);
  return {
    id,
    status: CourierStatus.catch('offline').parse(status ?? 'offline'),
    location: lat && lng && at ? { lat: Number(lat), lng: Number(lng), at } : null,
    activeOrderId: activeOrderId || null,
  };
}
