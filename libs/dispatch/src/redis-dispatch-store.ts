import type { LogPositions } from '@mesh/bus';
import { CourierStatus, DEFAULT_VEHICLE, Vehicle } from '@mesh/contracts';
import { courierKeys, type Markets } from '@mesh/geo';
import { outboxFields, outboxKey } from '@mesh/outbox';
import { marketTag, type RedisConnection } from '@mesh/redis';
import { TOPIC_OF_EVENT } from '@mesh/contracts';
import {
  DispatchStore,
  StateUnavailable,
  courierEngagement,
  type CourierSlot,
  type IdempotencyBinding,
  type RestoredOrder,
  type DispatchChange,
  type OrderListFilter,
  type StoredOffer,
  type StoredOrder,
} from './dispatch-store.port';

/**
 * A Lua condition: the built marker `marker` names the server running the script (its
 * run_id), i.e. the market's state was verified on this run of this server.
 */
function verifiedHere(marker: string): string {
  return `((redis.call('HGET', ${marker}, 'run') or '') == string.match(redis.call('INFO', 'server'), 'run_id:(%w+)'))`;
}

/** KEYS: built marker. Answers 1 when the market is built and verified on this server, else 0. */
const VERIFIED = `return ${verifiedHere('KEYS[1]')} and 1 or 0`;

/**
 * Every key of one market carries its hash tag, so a commit over an order, its
 * offer, its courier, the market's indexes and its outbox is one script on one
 * shard of a Redis Cluster (DESIGN.md, "Markets").
 */
const keys = {
  order: (market: string, id: string) => `${marketTag(market)}:order:${id}`,
  offer: (market: string, id: string) => `${marketTag(market)}:offer:${id}`,
  deadlines: (market: string) => `${marketTag(market)}:orders:deadlines`,
  /** Order ids by owner; members share score 0 so they sort by id, and ULIDs sort by creation time. */
  index: (market: string, owner: OrderListFilter['owner']) =>
    `${marketTag(market)}:${owner.kind === 'all' ? 'orders:all' : `orders:${owner.kind}:${owner.id}`}`,
  /** Not per market (a customer may order in several): one key on its own, in any slot. */
  idempotency: (customerId: string, key: string) => `idem:${customerId}:${key}`,
  /**
   * Present (with the log positions the market's state includes) while it is built; gone when
   * its shard came back empty.
   */
  built: (market: string) => `${marketTag(market)}:state:built`,
  outbox: (market: string) => outboxKey(marketTag(market)),
};

/*
 * The one write path of dispatch state: checks that the order (by version), the
 * offer (by status) and the courier (by status, offer, order) are still as read,
 * then writes all of them, the order's deadline, the courier's place in the
 * available index, the order's owner indexes and the change's event in the
 * outbox, atomically.
 *
 * Refused (-1) while the state is not built (the marker is gone: Redis came back empty), and
 * while the server holding it is not the one the state was last verified on (a restart, or a
 * replica promoted: it may lack the last writes until the rebuilder has replayed the log onto it).
 *
 * KEYS: order, deadlines, offer, courier, available index, outbox, built marker, owner indexes…
 * ARGV: orderId, expected version ('' = new), order doc, new version, deadline ms ('' = none),
 *       offer check ('' = no offer, '-' = new), offer doc, offer status,
 *       courier check ('1' or ''), expected status, offerId, activeOrderId, new status, offerId, activeOrderId, courierId,
 *       outbox fields (none, or topic, event)
 */
const COMMIT = `
if not ${verifiedHere('KEYS[7]')} then return -1 end
if (redis.call('HGET', KEYS[1], 'v') or '') ~= ARGV[2] then return 0 end
if ARGV[6] ~= '' and (redis.call('HGET', KEYS[3], 'status') or '-') ~= ARGV[6] then return 0 end
if ARGV[9] == '1' then
  local c = redis.call('HMGET', KEYS[4], 'status', 'offerId', 'activeOrderId', 'movingTo')
  if (c[1] or 'offline') ~= ARGV[10] or (c[2] or '') ~= ARGV[11] or (c[3] or '') ~= ARGV[12] or c[4] then return 0 end
end
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'v', ARGV[4])
if ARGV[5] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[3], 'doc', ARGV[7], 'status', ARGV[8]) end
if ARGV[9] == '1' then
  redis.call('HSET', KEYS[4], 'status', ARGV[13], 'offerId', ARGV[14], 'activeOrderId', ARGV[15])
  if ARGV[13] == 'available' then
    local pos = redis.call('HMGET', KEYS[4], 'lng', 'lat')
    if pos[1] then redis.call('GEOADD', KEYS[5], pos[1], pos[2], ARGV[16]) end
  else
    redis.call('ZREM', KEYS[5], ARGV[16])
  end
end
for i = 8, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
if #ARGV > 16 then redis.call('XADD', KEYS[6], '*', unpack(ARGV, 17)) end
return 1
`;

/*
 * Restores one order from the event log unless Redis has that version or a newer
 * one: the order, its deadline, its offer, its owner indexes, and the courier
 * the order engages (offered or busy; unless engaged elsewhere) or released
 * (when the courier still points at this order or its offer).
 *
 * KEYS: order, deadlines, offer (its id '-' when none), courier (id '-' when none; both in the market's slot), available index, owner indexes…
 * ARGV: orderId, version, order doc, deadline ms ('' none), offer doc ('' none), offer status,
 *       courierId ('' none), engagement ('offered' | 'busy' | '' = released), offerId, activeOrderId
 */
const RESTORE = `
if tonumber(redis.call('HGET', KEYS[1], 'v') or '0') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'v', ARGV[2])
if ARGV[4] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], 'doc', ARGV[5], 'status', ARGV[6]) end
if ARGV[7] ~= '' then
  local c = redis.call('HMGET', KEYS[4], 'status', 'offerId', 'activeOrderId')
  local status = c[1] or 'offline'
  local mine = (ARGV[9] ~= '' and c[2] == ARGV[9]) or c[3] == ARGV[1]
  if ARGV[8] ~= '' then
    if mine or (status ~= 'offered' and status ~= 'busy') then
      redis.call('HSET', KEYS[4], 'status', ARGV[8], 'offerId', ARGV[9], 'activeOrderId', ARGV[10])
      redis.call('ZREM', KEYS[5], ARGV[7])
    end
  elseif mine then
    redis.call('HSET', KEYS[4], 'status', 'available', 'offerId', '', 'activeOrderId', '')
    local pos = redis.call('HMGET', KEYS[4], 'lng', 'lat')
    if pos[1] then redis.call('GEOADD', KEYS[5], pos[1], pos[2], ARGV[7]) end
  end
end
for i = 6, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return 1
`;

// KEYS: deadlines. ARGV: now ms, limit, lease-until ms
const LEASE_DUE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return ids
`;

// KEYS: order, deadlines. ARGV: orderId, expected version ('' = absent), deadline ms ('' = none)
const SET_DEADLINE = `
if (redis.call('HGET', KEYS[1], 'v') or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
return 1
`;

// KEYS: idempotency key. ARGV: its binding
const UNBIND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

const COURIER_FIELDS = ['status', 'offerId', 'activeOrderId', 'lat', 'lng', 'vehicle', 'movingTo'] as const;

/**
 * Dispatch state in Redis: a hash per order and offer (JSON doc), deadlines and
 * owner indexes as sorted sets, all per market. An order stays in its pickup's
 * market for good; which market holds an order or an offer known only by id is
 * found by looking in each, once per process (it never changes).
 */
export class RedisDispatchStore extends DispatchStore {
  /** order or offer id → its market; immutable facts, so a plain bounded memo. */
  private readonly placed = new Map<string, string>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly markets: Markets,
  ) {
    super();
    redis.defineScript('meshDispatchCommit', COMMIT);
    redis.defineScript('meshDispatchRestore', RESTORE);
    redis.defineScript('meshLeaseDue', LEASE_DUE, 1);
    redis.defineScript('meshUnbind', UNBIND, 1);
    redis.defineScript('meshSetDeadline', SET_DEADLINE, 2);
    redis.defineScript('meshDispatchVerified', VERIFIED, 1);
  }

  private get commands(): ScriptCommands {
    return this.redis.client as unknown as ScriptCommands;
  }

  async order(orderId: string): Promise<StoredOrder | null> {
    const market = await this.marketOf('order', orderId);
    return market === null ? null : this.orderIn(market, orderId);
  }

  private async orderIn(market: string, orderId: string): Promise<StoredOrder | null> {
    const [doc, version] = await this.redis.client.hmget(keys.order(market, orderId), 'doc', 'v');
    if (!doc || version === null) return null;
    return { ...(JSON.parse(doc) as Omit<StoredOrder, 'version' | 'market'>), market, version: Number(version) };
  }

  async offer(offerId: string): Promise<StoredOffer | null> {
    const market = await this.marketOf('offer', offerId);
    if (market === null) return null;
    const [doc, status] = await this.redis.client.hmget(keys.offer(market, offerId), 'doc', 'status');
    if (!doc || !status) return null;
    return { ...(JSON.parse(doc) as Omit<StoredOffer, 'status'>), status: status as StoredOffer['status'] };
  }

  async courier(courierId: string, market: string): Promise<CourierSlot> {
    const [status, offerId, activeOrderId, lat, lng, vehicle, movingTo] = await this.redis.client.hmget(
      courierKeys.courier(market, courierId),
      ...COURIER_FIELDS,
    );
    // Not in this market (or leaving it): to this market's dispatch, it is not there.
    if (movingTo) return { ...offlineSlot(courierId), location: null };
    return {
      id: courierId,
      status: CourierStatus.catch('offline').parse(status ?? 'offline'),
      offerId: offerId || null,
      activeOrderId: activeOrderId || null,
      location: lat && lng ? { lat: Number(lat), lng: Number(lng) } : null,
      vehicle: Vehicle.catch(DEFAULT_VEHICLE).parse(vehicle ?? DEFAULT_VEHICLE),
    };
  }

  async commit(change: DispatchChange): Promise<StoredOrder | null> {
    const { order, offer, courier } = change;
    const after: StoredOrder = { ...order.after, version: (order.before?.version ?? 0) + 1 };
    const { version: _version, market, ...doc } = after;
    const courierId = courier?.after.id ?? '';
    const owners = ownerIndexes(market, order.before, after);
    const committed = await this.commands.meshDispatchCommit(
      7 + owners.length,
      keys.order(market, after.id),
      keys.deadlines(market),
      keys.offer(market, offer?.after.offerId ?? '-'),
      courierKeys.courier(market, courierId || '-'),
      courierKeys.available(market),
      keys.outbox(market),
      keys.built(market),
      ...owners,
      after.id,
      order.before ? String(order.before.version) : '',
      JSON.stringify(doc),
      String(after.version),
      change.deadlineAtMs === null ? '' : String(change.deadlineAtMs),
      offer ? (offer.before?.status ?? '-') : '',
      offer ? JSON.stringify({ ...offer.after, status: undefined }) : '',
      offer?.after.status ?? '',
      courier ? '1' : '',
      courier?.before.status ?? '',
      courier?.before.offerId ?? '',
      courier?.before.activeOrderId ?? '',
      courier?.after.status ?? '',
      courier?.after.offerId ?? '',
      courier?.after.activeOrderId ?? '',
      courierId,
      ...(change.event ? outboxFields(TOPIC_OF_EVENT[change.event.type], change.event) : []),
    );
    if (committed === -1) throw new StateUnavailable();
    if (committed !== 1) return null;
    this.remember(after.id, market);
    if (offer) this.remember(offer.after.offerId, market);
    return after;
  }

  async restore(orders: readonly RestoredOrder[]): Promise<number> {
    let written = 0;
    // In slices: one pipeline of a hundred thousand scripts would outlast the command timeout.
    for (let from = 0; from < orders.length; from += RESTORE_SLICE) {
      const slice = await Promise.all(orders.slice(from, from + RESTORE_SLICE).map((o) => this.restoreOne(o)));
      written += slice.filter((w) => w === 1).length;
    }
    return written;
  }

  private restoreOne({ order, offer, deadlineAtMs }: RestoredOrder): Promise<number> {
    const { version, market, ...doc } = order;
    const engagement = courierEngagement(order, offer);
    const owners = ownerIndexes(market, null, order);
    if (order.courierId) owners.push(keys.index(market, { kind: 'courier', id: order.courierId }));
    return this.commands.meshDispatchRestore(
      5 + owners.length,
      keys.order(market, order.id),
      keys.deadlines(market),
      keys.offer(market, offer?.offerId ?? '-'),
      courierKeys.courier(market, engagement?.courierId ?? '-'),
      courierKeys.available(market),
      ...owners,
      order.id,
      String(version),
      JSON.stringify(doc),
      deadlineAtMs === null ? '' : String(deadlineAtMs),
      offer ? JSON.stringify({ ...offer, status: undefined }) : '',
      offer?.status ?? '',
      engagement?.courierId ?? '',
      engagement?.status ?? '',
      engagement?.offerId ?? '',
      engagement?.activeOrderId ?? '',
    );
  }

  async built(market: string): Promise<LogPositions | null> {
    const marker = await this.redis.client.hgetall(keys.built(market));
    if (Object.keys(marker).length === 0) return null;
    const { at: _at, run: _run, ...positions } = marker;
    return positions;
  }

  async verified(market: string): Promise<boolean> {
    return (await this.commands.meshDispatchVerified(keys.built(market))) === 1;
  }

  incarnation(market: string): Promise<string> {
    return this.redis.serverRunId(keys.built(market));
  }

  async markBuilt(market: string, positions: LogPositions, incarnation: string): Promise<void> {
    await this.redis.client.hset(keys.built(market), { ...positions, run: incarnation, at: new Date().toISOString() });
  }

  /** Newest first, across markets: each market's index is read in order and the pages are merged. */
  async list(filter: OrderListFilter): Promise<{ items: StoredOrder[]; nextCursor: string | null }> {
    const pages = await Promise.all(this.markets.names.map((market) => this.listIn(market, filter)));
    if (pages.length === 1) return pages[0]!;
    const merged = pages.flatMap((page) => page.items).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    // A market's page that stopped early (its scan bound) caps how far the merge may go.
    const stops = pages.flatMap((page) => (page.nextCursor === null ? [] : [page.nextCursor]));
    const floor = stops.reduce<string | null>((max, id) => (max === null || id > max ? id : max), null);
    const items = merged.filter((o) => floor === null || o.id >= floor).slice(0, filter.limit);
    const more = items.length < merged.length || floor !== null;
    return { items, nextCursor: more ? (items.at(-1)?.id ?? floor) : null };
  }

  private async listIn(
    market: string,
    { owner, status, limit, cursor }: OrderListFilter,
  ): Promise<{ items: StoredOrder[]; nextCursor: string | null }> {
    const index = keys.index(market, owner);
    const items: StoredOrder[] = [];
    // With a status filter, read ahead in chunks; stop at a bounded scan so a sparse filter cannot run away.
    const chunk = status ? Math.max(50, limit * 2) : limit + 1;
    let from = cursor;
    let scanned = 0;
    for (;;) {
      const ids = await this.redis.client.zrange(
        index,
        from ? `(${from}` : '+',
        '-',
        'BYLEX',
        'REV',
        'LIMIT',
        0,
        chunk,
      );
      const orders = await Promise.all(ids.map((id) => this.orderIn(market, id)));
      for (let i = 0; i < ids.length; i++) {
        const found = orders[i];
        if (found && (!status || found.status === status)) {
          if (items.length === limit) return { items, nextCursor: items.at(-1)?.id ?? null };
          items.push(found);
        }
        from = ids[i];
      }
      scanned += ids.length;
      if (ids.length < chunk) return { items, nextCursor: null };
      if (!status && items.length === limit) return { items, nextCursor: items.at(-1)?.id ?? null };
      if (scanned >= MAX_FILTER_SCAN) return { items, nextCursor: from ?? null };
    }
  }

  async bindIdempotencyKey(
    customerId: string,
    key: string,
    binding: IdempotencyBinding,
    ttlS: number,
  ): Promise<IdempotencyBinding> {
    const redisKey = keys.idempotency(customerId, key);
    const set = await this.redis.client.set(redisKey, bindingValue(binding), 'EX', ttlS, 'NX');
    if (set === 'OK') return binding;
    const bound = await this.redis.client.get(redisKey);
    return bound === null ? binding : parseBinding(bound);
  }

  async unbindIdempotencyKey(customerId: string, key: string, binding: IdempotencyBinding): Promise<void> {
    await this.commands.meshUnbind(keys.idempotency(customerId, key), bindingValue(binding));
  }

  leaseDueDeadlines(market: string, nowMs: number, limit: number, leaseMs: number): Promise<string[]> {
    return this.commands.meshLeaseDue(keys.deadlines(market), nowMs, limit, nowMs + leaseMs);
  }

  async setDeadline(orderId: string, atMs: number | null, version: number | null): Promise<boolean> {
    const [expected, at] = [version === null ? '' : String(version), atMs === null ? '' : String(atMs)];
    const market = await this.marketOf('order', orderId);
    // An order no market has: its deadline may be in any of them (it is only ever dropped then).
    const markets = market === null ? this.markets.names : [market];
    const set = await Promise.all(
      markets.map((m) =>
        this.commands.meshSetDeadline(keys.order(m, orderId), keys.deadlines(m), orderId, expected, at),
      ),
    );
    return set.some((done) => done === 1);
  }

  /** The market holding an order or an offer, or null when none does. */
  private async marketOf(kind: 'order' | 'offer', id: string): Promise<string | null> {
    if (this.markets.names.length === 1) return this.markets.home;
    const remembered = this.placed.get(id);
    if (remembered !== undefined) return remembered;
    const key = kind === 'order' ? keys.order : keys.offer;
    const found = await Promise.all(this.markets.names.map((m) => this.redis.client.exists(key(m, id))));
    const market = this.markets.names.find((_, i) => found[i] === 1) ?? null;
    if (market !== null) this.remember(id, market);
    return market;
  }

  private remember(id: string, market: string): void {
    if (this.markets.names.length === 1) return;
    if (this.placed.size >= MAX_PLACED) this.placed.clear();
    this.placed.set(id, market);
  }
}

function offlineSlot(id: string): CourierSlot {
  return { id, status: 'offline', offerId: null, activeOrderId: null, location: null, vehicle: DEFAULT_VEHICLE };
}

/** Orders and offers whose market a process remembers at most. */
const MAX_PLACED = 500_000;

/** An idempotency binding as stored: `<orderId> <fingerprint>`. */
const bindingValue = ({ orderId, fingerprint }: IdempotencyBinding) => `${orderId} ${fingerprint}`;
function parseBinding(value: string): IdempotencyBinding {
  const [orderId = '', fingerprint = ''] = value.split(' ');
  return { orderId, fingerprint };
}

/** Orders restored per pipeline. */
const RESTORE_SLICE = 1_000;

/** A filtered page reads at most this many ids; the cursor lets the client go on. */
const MAX_FILTER_SCAN = 2_000;

function ownerIndexes(market: string, before: StoredOrder | null, after: StoredOrder): string[] {
  const indexes: string[] = [];
  if (!before) {
    indexes.push(keys.index(market, { kind: 'all' }), keys.index(market, { kind: 'customer', id: after.customerId }));
    if (after.merchantId) indexes.push(keys.index(market, { kind: 'merchant', id: after.merchantId }));
  }
  if (after.courierId && before?.courierId !== after.courierId) {
    indexes.push(keys.index(market, { kind: 'courier', id: after.courierId }));
  }
  return indexes;
}

interface ScriptCommands {
  meshDispatchCommit(numberOfKeys: number, ...args: string[]): Promise<number>;
  meshDispatchRestore(numberOfKeys: number, ...args: string[]): Promise<number>;
  meshLeaseDue(key: string, nowMs: number, limit: number, leaseUntil: number): Promise<string[]>;
  meshSetDeadline(order: string, deadlines: string, orderId: string, version: string, atMs: string): Promise<number>;
  meshDispatchVerified(marker: string): Promise<number>;
  meshUnbind(key: string, orderId: string): Promise<number>;
}
