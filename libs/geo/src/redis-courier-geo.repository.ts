import { CourierStatus, DEFAULT_VEHICLE, Vehicle, type CourierView, type NearbyCourier } from '@mesh/contracts';
import { marketTag, type RedisConnection } from '@mesh/redis';
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
import type { Markets } from './markets';

/**
 * Where couriers live in Redis: each under the hash tag of the market it is in
 * (`{m:<market>}`), so that dispatch's claim over an order and a courier is one
 * script on one shard. The dispatch store works on the same hash and available index.
 */
export const courierKeys = {
  courier: (market: string, id: string) => `${marketTag(market)}:courier:${id}`,
  online: (market: string) => `${marketTag(market)}:couriers:geo`,
  available: (market: string) => `${marketTag(market)}:couriers:geo:available`,
};
const keys = courierKeys;

/* Every script keeps a courier's hash and its market's two indexes consistent in one atomic step. */

/*
 * Fixes of many couriers of one market in one call (a busy location function records a
 * whole Kafka batch at once), each in its turn: a fix older than the one stored is
 * skipped (0); a courier that is not (or no longer) in this market answers -1, unless
 * the fix may create it (a courier seen for the first time); else the fix is stored and
 * indexed when the courier is online, answering its active order id ('' for none).
 * KEYS: online index, available index, then one courier hash per fix.
 * ARGV: per fix, FIELDS values: id, create ('1' | ''), lng, lat, atMs, at, heading, speedMps, accuracyM
 */
const FIELDS = 9;
const RECORD_LOCATIONS = `
local answers = {}
for i = 3, #KEYS do
  local courier = KEYS[i]
  local a = (i - 3) * ${FIELDS}
  if (redis.call('EXISTS', courier) == 0 and ARGV[a + 2] ~= '1') or redis.call('HEXISTS', courier, 'movingTo') == 1
    or redis.call('HEXISTS', courier, 'movedTo') == 1 then
    answers[#answers + 1] = -1
  else
    local prev = tonumber(redis.call('HGET', courier, 'atMs'))
    if prev and tonumber(ARGV[a + 5]) < prev then
      answers[#answers + 1] = 0
    else
      redis.call('HSET', courier, 'lng', ARGV[a + 3], 'lat', ARGV[a + 4], 'atMs', ARGV[a + 5], 'at', ARGV[a + 6],
        'heading', ARGV[a + 7], 'speedMps', ARGV[a + 8], 'accuracyM', ARGV[a + 9])
      local status = redis.call('HGET', courier, 'status')
      if status and status ~= 'offline' then redis.call('GEOADD', KEYS[1], ARGV[a + 3], ARGV[a + 4], ARGV[a + 1]) end
      if status == 'available' then redis.call('GEOADD', KEYS[2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 1]) end
      answers[#answers + 1] = redis.call('HGET', courier, 'activeOrderId') or ''
    end
  end
end
return answers
`;
/** Fixes recorded in one script call at most; more wait for the next. */
const MAX_FIXES_PER_CALL = 500;

/*
 * KEYS: courier hash, online index, available index. ARGV: id, '1' | '0', vehicle, create ('1' | '').
 * {'gone'} when the courier is not (or no longer) in this market and may not be created here.
 */
const SET_AVAILABILITY = `
if (redis.call('EXISTS', KEYS[1]) == 0 and ARGV[4] ~= '1') or redis.call('HEXISTS', KEYS[1], 'movingTo') == 1
  or redis.call('HEXISTS', KEYS[1], 'movedTo') == 1 then
  return {'gone', ''}
end
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

/*
 * A courier crossing into another market, step 1 of 3, in the market it leaves:
 * unless it holds an offer or an order (then it stays until done) or the fix is
 * older than the stored one, it is marked as moving (dispatch here no longer
 * claims it) and taken out of this market's indexes; answers its fields.
 * Steps 2 and 3 (arrive, then forget here) are idempotent, so a worker killed
 * between them leaves the move to be finished by the fix's redelivery or the next fix.
 * KEYS: courier hash, online index, available index. ARGV: id, target market, fix atMs.
 */
const LEAVE = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'movedTo') == 1 then return {'gone'} end
local moving = redis.call('HGET', KEYS[1], 'movingTo')
if moving and moving ~= ARGV[2] then return {'gone'} end
local status = redis.call('HGET', KEYS[1], 'status') or 'offline'
if status == 'offered' or status == 'busy' then return {'engaged'} end
local prev = tonumber(redis.call('HGET', KEYS[1], 'atMs'))
if prev and tonumber(ARGV[3]) < prev then return {'older'} end
redis.call('HSET', KEYS[1], 'movingTo', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local fields = redis.call('HGETALL', KEYS[1])
table.insert(fields, 1, 'leaving')
return fields
`;

/* Step 2, in the market it enters. KEYS: courier hash, online index, available index. ARGV: id, field, value, … */
const ARRIVE = `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'offered' or status == 'busy' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local c = redis.call('HMGET', KEYS[1], 'status', 'lng', 'lat')
if c[1] and c[1] ~= 'offline' and c[2] then redis.call('GEOADD', KEYS[2], c[2], c[3], ARGV[1]) end
if c[1] == 'available' and c[2] then redis.call('GEOADD', KEYS[3], c[2], c[3], ARGV[1]) end
return 1
`;

/*
 * A courier known nowhere, met first by a fix outside the home market: it is made
 * in the home market (offline, unless an availability change made it there first)
 * and then moves like any courier crossing a border. Its availability change,
 * which may be applied at the same moment by another worker (it comes on another
 * partition than a batch of fixes), makes it in the home market too, so the two
 * meet in one hash instead of making two couriers. KEYS: courier hash.
 */
const ENSURE = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'status', 'offline') end
return 0
`;

/*
 * Step 3, in the market it left: only a marker of where it went is kept there for a while
 * (\`movedTo\`, which every script reads as "not here, and not to be made here"). A worker
 * that looked for the courier before the move and found it nowhere would otherwise make it
 * again in the home market with its change (an availability racing a first fix), leaving
 * two couriers, the moved one without that change.
 * KEYS: courier hash. ARGV: target market, how long the marker stays (ms).
 */
const FORGET = `
if redis.call('HGET', KEYS[1], 'movingTo') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'movedTo', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;
/** How long a market remembers that a courier moved out (far longer than a worker takes from looking to writing). */
const MOVED_MARKER_MS = 10 * 60_000;

const VIEW_FIELDS = ['status', 'lat', 'lng', 'at', 'activeOrderId'] as const;
/**
 * Tries at a courier another worker is moving between markets, with waits of 10, 20, 40… ms
 * between them (1.3 s in all): a move is three round trips, longer on a loaded Redis. Immediate
 * tries ran out while every new courier's first fix was moving it, and its availability was lost.
 */
const MOVE_ATTEMPTS = 8;
const settling = (attempt: number) => new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));

/** Couriers whose market this process remembers at most (then it starts afresh: a cache, not the truth). */
const MAX_PLACED = 200_000;

/**
 * Couriers in Redis: a hash per courier and GEO sets for online and available
 * couriers, per market. A courier is in the market of its last position (kept
 * where it is while on an offer or an order); which market that is, is found by
 * looking in each (remembered per process, and checked by every script).
 */
export class RedisCourierGeoRepository extends CourierGeoRepository {
  /** courier → the market it was last found in. */
  private readonly placed = new Map<string, string>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly markets: Markets,
  ) {
    super();
    redis.defineScript('meshRecordLocations', RECORD_LOCATIONS);
    redis.defineScript('meshSetAvailability', SET_AVAILABILITY, 3);
    redis.defineScript('meshCourierLeave', LEAVE, 3);
    redis.defineScript('meshCourierArrive', ARRIVE, 3);
    redis.defineScript('meshCourierForget', FORGET, 1);
    redis.defineScript('meshCourierEnsure', ENSURE, 1);
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }

  /** Fixes recorded in the same tick share one script call per market. */
  recordLocation(courierId: string, fix: CourierFix): Promise<RecordedFix | null> {
    return this.fixes.load({ courierId, fix });
  }

  private readonly fixes = new DataLoader<{ courierId: string; fix: CourierFix }, RecordedFix | null>(
    async (batch) => {
      const answers = Array.from<RecordedFix | null | undefined>({ length: batch.length });
      const byMarket = new Map<string, { index: number; create: boolean }[]>();
      const moves: number[] = [];
      const places = await Promise.all(batch.map(({ courierId }) => this.whereIs(courierId)));
      batch.forEach(({ fix }, index) => {
        const current = places[index] ?? null;
        const target = this.markets.forCourier(fix, current);
        // Moving, or known nowhere with a first fix outside the home market (made at home first, then moved).
        if (current !== target && (current !== null || target !== this.markets.home)) return void moves.push(index);
        const group = byMarket.get(target) ?? [];
        group.push({ index, create: current === null });
        byMarket.set(target, group);
      });
      await Promise.all([
        ...[...byMarket].map(async ([market, group]) => {
          const replies = await this.commands.meshRecordLocations(
            2 + group.length,
            keys.online(market),
            keys.available(market),
            ...group.map(({ index }) => keys.courier(market, batch[index]!.courierId)),
            ...group.flatMap(({ index, create }) => fixArgs(batch[index]!.courierId, batch[index]!.fix, create)),
          );
          replies.forEach((reply, i) => {
            const { index } = group[i]!;
            if (reply === -1) return void moves.push(index); // it moved since we looked: look again
            this.remember(batch[index]!.courierId, market);
            answers[index] = reply === 0 ? null : { activeOrderId: reply || null };
          });
        }),
      ]);
      // Border crossings (and stale memories) one by one: they are rare, and each takes three steps.
      for (const index of moves) {
        const { courierId, fix } = batch[index]!;
        answers[index] = await this.recordSlowly(courierId, fix);
      }
      return answers.map((a) => a ?? null);
    },
    { cache: false, maxBatchSize: MAX_FIXES_PER_CALL },
  );

  /** A fix whose courier must be looked for, or moved to another market. */
  private async recordSlowly(courierId: string, fix: CourierFix, attempt = 0): Promise<RecordedFix | null> {
    this.placed.delete(courierId);
    let current = await this.whereIs(courierId);
    if (current === null && this.markets.forCourier(fix, null) !== this.markets.home) {
      await this.commands.meshCourierEnsure(keys.courier(this.markets.home, courierId));
      current = this.markets.home;
    }
    const target = this.markets.forCourier(fix, current);
    if (current === null || current === target) {
      const market = current ?? target;
      const [reply] = await this.commands.meshRecordLocations(
        3,
        keys.online(market),
        keys.available(market),
        keys.courier(market, courierId),
        ...fixArgs(courierId, fix, current === null),
      );
      if (reply === -1) return this.retry(courierId, fix, attempt);
      this.remember(courierId, market);
      return reply === 0 ? null : { activeOrderId: reply || null };
    }
    const left = await this.commands.meshCourierLeave(
      keys.courier(current, courierId),
      keys.online(current),
      keys.available(current),
      courierId,
      target,
      Date.parse(fix.at),
    );
    const [outcome, ...fields] = left;
    if (outcome === 'gone') return this.retry(courierId, fix, attempt);
    if (outcome === 'older') return null;
    if (outcome === 'engaged') {
      // On an offer or an order: it stays in its market until done, wherever it rides.
      const [reply] = await this.commands.meshRecordLocations(
        3,
        keys.online(current),
        keys.available(current),
        keys.courier(current, courierId),
        ...fixArgs(courierId, fix, false),
      );
      if (reply === -1) return this.retry(courierId, fix, attempt);
      return reply === 0 ? null : { activeOrderId: reply || null };
    }
    const moved = movedFields(fields, fix);
    const arrived = await this.commands.meshCourierArrive(
      keys.courier(target, courierId),
      keys.online(target),
      keys.available(target),
      courierId,
      ...moved,
    );
    if (arrived !== 1) return this.retry(courierId, fix, attempt);
    await this.commands.meshCourierForget(keys.courier(current, courierId), target, MOVED_MARKER_MS);
    this.remember(courierId, target);
    return { activeOrderId: null };
  }

  private async retry(courierId: string, fix: CourierFix, attempt: number): Promise<RecordedFix | null> {
    // Two workers moving one courier at once (a rebalance, or its first fix racing its availability) settle soon.
    if (attempt >= MOVE_ATTEMPTS - 1) {
      throw new Error(`courier ${courierId} kept moving between markets while recording a fix`);
    }
    await settling(attempt);
    return this.recordSlowly(courierId, fix, attempt + 1);
  }

  async setAvailability(
    courierId: string,
    available: boolean,
    vehicle: Vehicle = DEFAULT_VEHICLE,
  ): Promise<AvailabilityResult> {
    for (let attempt = 0; attempt < MOVE_ATTEMPTS; attempt++) {
      // Found in the middle of a move (another worker placing its first fix): the move ends in a few round trips.
      if (attempt > 0) await settling(attempt - 1);
      const current = await this.whereIs(courierId);
      // A courier nobody has heard of is kept in the first market until its first position places it.
      const market = current ?? this.markets.home;
      const [outcome, status] = await this.commands.meshSetAvailability(
        keys.courier(market, courierId),
        keys.online(market),
        keys.available(market),
        courierId,
        available ? '1' : '0',
        vehicle,
        current === null ? '1' : '',
      );
      if (outcome === 'gone') {
        this.placed.delete(courierId);
        continue;
      }
      this.remember(courierId, market);
      if (outcome === 'engaged') return { outcome: 'engaged', status: CourierStatus.parse(status) };
      return { outcome: 'ok', courier: await this.get(courierId) };
    }
    throw new Error(`courier ${courierId} kept moving between markets while going ${available ? 'on' : 'off'}line`);
  }

  async get(courierId: string): Promise<CourierView> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const market = await this.whereIs(courierId);
      if (market === null) return offlineCourier(courierId);
      const values = await this.redis.client.hmget(keys.courier(market, courierId), ...VIEW_FIELDS);
      if (values.some((v) => v !== null)) return toView(courierId, values);
      this.placed.delete(courierId); // moved on since we looked
    }
    return offlineCourier(courierId);
  }

  async online(limit: number): Promise<CourierView[]> {
    const perMarket = await Promise.all(
      this.markets.names.map(async (market) =>
        (await this.redis.client.zrangebylex(keys.online(market), '-', '+', 'LIMIT', 0, limit)).map((id) => ({
          id,
          market,
        })),
      ),
    );
    const firstByID = perMarket
      .flat()
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit);
    const rows = await Promise.all(
      firstByID.map(({ id, market }) => this.redis.client.hmget(keys.courier(market, id), ...VIEW_FIELDS)),
    );
    return firstByID.map(({ id }, i) => toView(id, rows[i] ?? []));
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

  /** Online couriers near a point, whichever market they are in (a point near a border sees both sides). */
  async nearby(search: NearbySearch): Promise<NearbyCourier[]> {
    const perMarket = await Promise.all(
      this.markets.names.map(async (market) =>
        (await this.search(keys.online(market), search)).map(([id, distance]) => ({
          id,
          market,
          distanceM: Number(distance),
        })),
      ),
    );
    const hits = perMarket
      .flat()
      .sort((a, b) => a.distanceM - b.distanceM)
      .slice(0, search.limit);
    if (hits.length === 0) return [];
    const rows = await Promise.all(
      hits.map(({ id, market }) => this.redis.client.hmget(keys.courier(market, id), ...VIEW_FIELDS)),
    );
    return hits.map(({ id, distanceM }, i) => ({
      ...toView(id, rows[i] ?? []),
      distanceM: roundMetres(distanceM),
    }));
  }

  async nearestAvailable(search: AvailableSearch): Promise<AvailableCourier[]> {
    const { fixedSinceMs, market } = search;
    const hits = await this.search(keys.available(market), search);
    if (hits.length === 0) return [];
    const details = await Promise.all(
      hits.map(([id]) => this.redis.client.hmget(keys.courier(market, id), 'vehicle', 'atMs')),
    );
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

  /**
   * The market the courier is in, or null when no market has it. Remembered per
   * process; every script that writes a courier checks it is still there.
   */
  private async whereIs(courierId: string): Promise<string | null> {
    const remembered = this.placed.get(courierId);
    if (remembered !== undefined) return remembered;
    const copies = await Promise.all(
      this.markets.names.map(async (market) => {
        const [status, atMs, movingTo] = await this.redis.client.hmget(
          keys.courier(market, courierId),
          'status',
          'atMs',
          'movingTo',
        );
        return status === null && atMs === null ? null : { market, status, atMs: Number(atMs ?? 0), movingTo };
      }),
    );
    const found = copies.filter((c) => c !== null);
    const markets = new Set(found.map((c) => c.market));
    // A copy marked as moving to a market that has the courier is the old half of a move.
    const live = found.filter((c) => !c.movingTo || !markets.has(c.movingTo));
    const engaged = live.find((c) => c.status === 'offered' || c.status === 'busy');
    const chosen = engaged ?? live.sort((a, b) => b.atMs - a.atMs)[0];
    if (!chosen) return null;
    this.remember(courierId, chosen.market);
    return chosen.market;
  }

  private remember(courierId: string, market: string): void {
    if (this.placed.size >= MAX_PLACED) this.placed.clear();
    this.placed.set(courierId, market);
  }
}

/** A search for free couriers, in the one market whose orders they may be offered. */
type AvailableSearch = NearbySearch & { market: string; fixedSinceMs?: number };

function fixArgs(courierId: string, fix: CourierFix, create: boolean): (string | number)[] {
  return [
    courierId,
    create ? '1' : '',
    fix.lng,
    fix.lat,
    Date.parse(fix.at),
    fix.at,
    fix.heading ?? '',
    fix.speedMps ?? '',
    fix.accuracyM ?? '',
  ];
}

/** A leaving courier's fields (flat HGETALL) with the new fix over them, without the moving mark. */
function movedFields(flat: readonly string[], fix: CourierFix): string[] {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
  fields.delete('movingTo');
  const update: Record<string, string | number> = {
    lng: fix.lng,
    lat: fix.lat,
    atMs: Date.parse(fix.at),
    at: fix.at,
    heading: fix.heading ?? '',
    speedMps: fix.speedMps ?? '',
    accuracyM: fix.accuracyM ?? '',
  };
  for (const [field, value] of Object.entries(update)) fields.set(field, String(value));
  return [...fields].flat();
}

interface ScriptCommands {
  /** Per fix, the courier's active order id ('' for none), 0 when older than the stored one, -1 when not in the market. */
  meshRecordLocations(...args: (string | number)[]): Promise<(string | 0 | -1)[]>;
  meshSetAvailability(...args: string[]): Promise<[string, string]>;
  meshCourierLeave(...args: (string | number)[]): Promise<string[]>;
  meshCourierArrive(...args: string[]): Promise<number>;
  meshCourierForget(key: string, target: string, markerMs: number): Promise<number>;
  meshCourierEnsure(key: string): Promise<number>;
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
