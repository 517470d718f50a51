import { TokenIssuer } from '@mesh/auth';
import { MeshApiError, MeshClient, MeshConnectionError } from '@mesh/client';
import { AppConfig } from '@mesh/config';
import type { OfferView, OrderView, PushMeta, Role } from '@mesh/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaEventBus } from '@mesh/bus';
import { outboxKey, outboxLeaseKey } from '@mesh/outbox';
import { RedisConnection, outboxShards } from '@mesh/redis';
import { io, type Socket } from 'socket.io-client';
import { eventually, silentLogger } from '@mesh/harness';
import { LiveRoomFleet, type RoomFigures } from './live-rooms';
import { RedisClusterProcesses, kafkaBroker, kafkaCluster, kafkaLeaderOf, redisServer } from '@mesh/harness';
import { startLoadBalancer } from '@mesh/harness';
import {
  ALL_BUT_MIX,
  CLUSTER_MARKETS,
  freeClusterNodePort,
  freePort,
  startProcess,
  waitForHttp,
  type RunningProcess,
  type Topology,
} from '@mesh/harness';

/**
 * What a fault test kills: one process at a time, SIGKILL by its pid, restarted `downS` later.
 * On the single topology: the Redis, the broker, the functions process, a gateway. On the
 * cluster topology: the broker leading the first `orders` partition, the Redis master
 * holding the load's market (its replica is promoted), a gateway behind the load
 * balancer, a functions process (another keeps working). On both: a mix replica, the
 * one mixing the first of a few live rooms (another replica takes its rooms).
 */
export const FAULTS = [
  'redis',
  'redis-wiped',
  'kafka',
  'functions',
  'gateway',
  'kafka-leader',
  'redis-master',
  'mix',
] as const;
export type Fault = (typeof FAULTS)[number];
export const TOPOLOGY_FAULTS: Record<Topology, readonly Fault[]> = {
  single: ['redis', 'redis-wiped', 'kafka', 'functions', 'gateway', 'mix'],
  cluster: ['kafka-leader', 'redis-master', 'gateway', 'functions', 'mix'],
};

/** How many of the harness's last log lines, and of each process' last output lines, a failed run reports. */
const RECENT_LINES = 60;
/** How many of the harness's lines about one order a stuck order's description keeps. */
const ORDER_NOTES = 10;

/** How often each courier's app reports its position. */
const COURIER_REPORT_MS = 15_000;

/** The live rooms mixed while the `mix` fault is in the run, and the mix replicas mixing them. */
const LIVE_ROOMS = 4;
const MIX_REPLICAS = 2;

/** The market the load is placed in, on the cluster topology (CLUSTER_MARKETS: Paris is in `centre`). */
const LOAD_MARKET = 'centre';

export interface ChaosOptions {
  topology?: Topology;
  faults: readonly Fault[];
  ordersPerS: number;
  couriers: number;
  customers: number;
  /** Seconds of load before each kill and after each restart. */
  loadS: number;
  downS: number;
  /** After the load stops, how long every accepted order has to reach its end. */
  drainS: number;
  log: (line: string) => void;
}

/** Per fault, the orders placed from the start of its window to the start of the next. */
export interface FaultFigures {
  fault: Fault;
  accepted: number;
  /** Answered 503 (Kafka or Redis away): not accepted, nothing placed. */
  refused: number;
  slowestRefusalMs: number;
  delivered: number;
  /** Accepted (202) but unknown to the API at the end. */
  lost: number;
  /** Accepted but not at an end (delivered, cancelled, unassigned) when the drain ran out. */
  stuck: number;
  /** Per stuck order: where it stopped, what its apps were told and the run said of it, its history and events. */
  stuckOrders: string[];
  unassigned: number;
  /** Delivered orders whose customer got no `order.updated` saying so over the socket. */
  missedFinalPush: number;
  /** …and who did not learn it by refetching after a reconnect either. */
  finalStateUnknown: number;
  /** Per missed final push: the order, when it was delivered, the last status its customer was pushed, and their socket's story. */
  missed: string[];
  /** Orders two couriers were each told they hold (accept answered 200). */
  doubleAssigned: number;
  /** From the killed process being back (ready) to the next offer reaching a courier. */
  backToOfferMs: number | null;
  /** The longest time no offer reached any courier, from the kill to `loadS` after the process was back. */
  longestOfferGapMs: number;
  /** Requests and socket connections of the apps that failed below HTTP (refused, reset, dropped mid-answer). */
  connectionErrors: number;
  /** …each as what failed and how (the first ten): what to look at when one happened where none should. */
  connectionFailures: string[];
  /** …of which refused outright (nothing listening where the app went). */
  connectionsRefused: number;
  /** The `mix` fault's: what the killed replica's live rooms went through, and every room at the end. */
  rooms: RoomFigures | null;
}

/** A request or socket of an app that failed below HTTP (refused, reset, timed out, dropped mid-answer). */
interface Unreachable {
  at: number;
  /** The call (or whose socket) and why. */
  what: string;
}

interface Tracked {
  id: string;
  customer: string;
  window: number;
  refetchedFinal: boolean;
}

/**
 * What the apps were told, by order id, kept apart from the orders placed: an order can be
 * offered, held and delivered before its 202 reaches the customer (while a broker dies, the
 * gateway may wait out its publish after Kafka took the event).
 */
class Told {
  private readonly lastPushed = new Map<string, string>();
  private readonly finals = new Set<string>();
  private readonly holders = new Map<string, Set<string>>();

  /** An `order.updated` its customer got. */
  pushed(order: OrderView): void {
    this.lastPushed.set(order.id, order.status);
    if (order.status === 'delivered') this.finals.add(order.id);
  }

  /** A courier told (accept answered 200) that it holds the order. */
  holds(orderId: string, courierId: string): void {
    const holders = this.holders.get(orderId) ?? new Set();
    holders.add(courierId);
    this.holders.set(orderId, holders);
  }

  finalPushed(id: string): boolean {
    return this.finals.has(id);
  }

  lastPushedOf(id: string): string | null {
    return this.lastPushed.get(id) ?? null;
  }

  holdersOf(id: string): number {
    return this.holders.get(id)?.size ?? 0;
  }
}

/** The pushes kept in an order's room history, as `offset status at` (what the gateways were sent). */
async function historyOf(redis: AppConfig['redis'], orderId: string): Promise<string> {
  const connection = new RedisConnection(redis);
  try {
    const entries = await connection.client.xrange(`{history}:order:${orderId}`, '-', '+');
    const pushes = await Promise.all(
      entries.map(async ([id]) => {
        const offset = id.slice(0, id.indexOf('-'));
        const payload = await connection.client.get(`{history}:push:${offset}`);
        const order = payload ? (JSON.parse(payload) as Partial<OrderView>) : null;
        return `${offset} ${order?.status ?? '(payload gone)'} ${order?.updatedAt ?? ''}`.trim();
      }),
    );
    return pushes.length > 0 ? pushes.join(' | ') : 'none';
  } finally {
    await connection.close();
  }
}

/**
 * Each outbox shard still holding events that are not on Kafka: how many, since when, and
 * which relay holds its lease (a relay names its process). Says whether a push that never
 * came waits behind the relay.
 */
async function outboxesOf(config: AppConfig): Promise<string> {
  const connection = new RedisConnection(config.redis);
  try {
    const shards = outboxShards(config.markets.map((m) => m.name));
    const states = await Promise.all(
      shards.map(async (shard) => {
        const [waiting, oldest, holder, ttlMs] = await Promise.all([
          connection.client.xlen(outboxKey(shard)),
          connection.client.xrange(outboxKey(shard), '-', '+', 'COUNT', 1),
          connection.client.get(outboxLeaseKey(shard)),
          connection.client.pttl(outboxLeaseKey(shard)),
        ]);
        if (waiting === 0) return null;
        const since = new Date(Number(oldest[0]?.[0].split('-')[0])).toISOString();
        return `${shard} ${waiting} waiting since ${since}, lease ${holder ?? 'free'} (${ttlMs} ms left)`;
      }),
    );
    return states.filter((s) => s !== null).join('; ') || 'every shard relayed';
  } finally {
    await connection.close();
  }
}

/**
 * The types of each order's events on Kafka's `orders` log, in log order: beside its room's
 * history, says whether a push never made had its event on Kafka (then the consumer did not
 * handle it) or not (then it never left the outbox, or was lost on its way).
 */
async function eventsOnKafka(config: AppConfig, orderIds: ReadonlySet<string>): Promise<Map<string, string[]>> {
  const bus = new KafkaEventBus({ ...config.kafka, logger: silentLogger });
  const events = new Map<string, string[]>();
  try {
    await bus.replay('orders', 'earliest', (event) => {
      if (event.subject === undefined || !orderIds.has(event.subject)) return;
      events.set(event.subject, [...(events.get(event.subject) ?? []), event.type]);
    });
    return events;
  } finally {
    await bus.close();
  }
}

const DELIVERY_STEP_MS = 300;
/** How long an app waits for one answer before it tries the other gateway. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Answers that say "not now" rather than "no": the apps send the call again. */
const PASSING = [429, 502, 503, 504];

/**
 * The fault tier's load and bookkeeping: its own Redis and Kafka broker (child
 * processes whose pids it kills), one functions process and two gateways; couriers
 * and customers on Socket.IO, as apps with both gateways' addresses, failing over.
 */
export async function runChaos(options: ChaosOptions): Promise<FaultFigures[]> {
  // The harness's last lines go with a failure, whoever reads the log: CI keeps only what a test throws.
  const recent: string[] = [];
  // …and per order, what the harness said of it (an order's id is a ULID): with a stuck order, for CI's log.
  const saidOf = new Map<string, string[]>();
  const log = (line: string) => {
    const dated = `${new Date().toISOString()} ${line}`;
    recent.push(dated);
    if (recent.length > RECENT_LINES) recent.shift();
    for (const id of new Set(line.match(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g) ?? [])) {
      const said = saidOf.get(id) ?? [];
      if (said.length < ORDER_NOTES) saidOf.set(id, [...said, dated]);
    }
    options.log(line);
  };
  const cluster = options.topology === 'cluster';
  const dir = mkdtempSync(join(tmpdir(), 'mesh-chaos-'));
  const ports = async (n: number) => Promise.all(Array.from({ length: n }, () => freePort()));
  const functionsPorts = await ports(2);
  // With the mix fault: live rooms on mix replicas of their own, the functions processes running the rest.
  const mixing = options.faults.includes('mix');
  const mixPorts = await ports(mixing ? MIX_REPLICAS : 0);
  const hlsDir = join(dir, 'live');
  const gatewayPorts = await ports(2);
  // Single: one Redis and one broker. Cluster: a Redis Cluster of six nodes, three brokers and three controllers.
  const redisPorts = cluster
    ? await Promise.all(Array.from({ length: 6 }, () => freeClusterNodePort()))
    : await ports(1);
  const [kafkaPorts, controllerPorts] = [await ports(cluster ? 3 : 1), await ports(cluster ? 3 : 1)];
  const redisCluster = cluster ? new RedisClusterProcesses(redisPorts, join(dir, 'redis')) : null;
  const redis = redisCluster ? null : redisServer(redisPorts[0]!, join(dir, 'redis'));
  // The cluster's controllers are a quorum of their own, never killed here: the faults are a broker's.
  const kafka = cluster
    ? kafkaCluster(
        { ports: kafkaPorts, controllerPorts, clusterId: randomBytes(16).toString('base64url').replace(/^-/, 'A') },
        join(dir, 'kafka'),
      )
    : { controllers: [], brokers: [kafkaBroker(kafkaPorts[0]!, controllerPorts[0]!, join(dir, 'kafka'))] };
  const brokers = kafka.brokers;
  const bootstrap = kafkaPorts.map((port) => `127.0.0.1:${port}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    ADAPTERS: 'real',
    HOST: '127.0.0.1',
    ...(redisCluster
      ? { REDIS_CLUSTER_NODES: redisCluster.seeds.join(','), MARKETS: CLUSTER_MARKETS }
      : { REDIS_URL: `redis://127.0.0.1:${redisPorts[0]}` }),
    KAFKA_BROKERS: bootstrap.join(','),
    JWT_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    RATE_LIMIT_REQUESTS: '0',
    // The whole fleet and its customers come from this one address.
    ANON_RATE_LIMIT_REQUESTS: '0',
    ANON_SOCKETS_PER_IP: '10000',
    OFFER_TTL_S: '5',
    DISPATCH_RETRY_S: '1',
    // Small pictures from synthetic sources: the rooms' ffmpegs share the cores with the load.
    MIX_TEST_SOURCES: '1',
    MIX_HLS_DIR: hlsDir,
    MIX_OUTPUT_SIZE: '320x180',
    MIX_FPS: '15',
    MIX_X264_PRESET: 'ultrafast',
  };
  const gatewayUrls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
  // The apps: on the single topology they know both gateways and fail over themselves; on the
  // cluster topology they know one address, the load balancer's.
  const lbPort = cluster ? await freePort() : null;
  const urls = lbPort ? [`http://127.0.0.1:${lbPort}`] : gatewayUrls;
  const functions: (RunningProcess | undefined)[] = [];
  const gateways: (RunningProcess | undefined)[] = [undefined, undefined];
  let loadBalancer: RunningProcess | undefined;
  const startFunctions = async (i: number) => {
    const worker = startProcess(`functions-${i}`, 'apps/functions/src/main.js', {
      ...env,
      FUNCTIONS_PORT: String(functionsPorts[i]),
      ...(i > 0 || mixing ? { FUNCTIONS: ALL_BUT_MIX } : {}),
    });
    functions[i] = worker;
    await waitForHttp(`http://127.0.0.1:${functionsPorts[i]}/healthz`, worker);
  };
  const mixReplicas: (RunningProcess | undefined)[] = [];
  const startMix = async (i: number) => {
    const replica = startProcess(`mix-${i}`, 'apps/functions/src/main.js', {
      ...env,
      FUNCTIONS: 'mix',
      FUNCTIONS_PORT: String(mixPorts[i]),
    });
    mixReplicas[i] = replica;
    await waitForHttp(`http://127.0.0.1:${mixPorts[i]}/healthz`, replica);
  };
  let rooms: LiveRoomFleet | undefined;
  const roomFigures: Partial<Record<number, RoomFigures>> = {};
  const startGateway = async (i: number) => {
    const gateway = startProcess(`gateway-${i}`, 'apps/gateway/src/main.js', { ...env, PORT: String(gatewayPorts[i]) });
    gateways[i] = gateway;
    await waitForHttp(`${gatewayUrls[i]}/readyz`, gateway);
  };
  const sockets: Socket[] = [];
  let placing: NodeJS.Timeout | undefined;
  const reporting: NodeJS.Timeout[] = [];
  try {
    log(`starting ${cluster ? 'a Redis Cluster and three Kafka brokers' : 'Redis and Kafka'} in ${dir}`);
    await Promise.all([
      redisCluster ? redisCluster.start() : redis!.start(),
      ...[...kafka.controllers, ...brokers].map((node) => node.start()),
    ]);
    // One functions process on the single topology (its kill stops every function); two on the cluster one.
    await Promise.all((cluster ? [0, 1] : [0]).map((i) => startFunctions(i)));
    await Promise.all(mixPorts.map((_, i) => startMix(i)));
    await Promise.all([startGateway(0), startGateway(1)]);
    if (lbPort) {
      loadBalancer = startLoadBalancer(
        lbPort,
        gatewayPorts.map((port, i) => ({ name: `gw${i + 1}`, port })),
      );
      await waitForHttp(`${urls[0]}/readyz`, loadBalancer);
    }
    const issuer = new TokenIssuer(AppConfig.fromEnv(env));
    const token = (sub: string, roles: Role[]) => issuer.issue({ sub, roles });
    const unreachable: Unreachable[] = [];
    const refusedConnections: number[] = [];
    /** Per app (its subject), how many times its socket connected. */
    const connections = new Map<string, number>();
    /** Per app, what its socket went through (connected, recovered or not, disconnected and why). */
    const socketStory = new Map<string, string[]>();
    const tell = (who: string, what: string) => {
      const story = socketStory.get(who) ?? [];
      story.push(`${new Date().toISOString()} ${what}`);
      socketStory.set(who, story.slice(-20));
    };
    const api = new FailoverApi(urls, unreachable, refusedConnections, log);

    const orders = new Map<string, Tracked>();
    const told = new Told();
    const offers: number[] = [];
    let window = 0;
    const refusals: { window: number; ms: number }[] = [];

    /**
     * A socket that reconnects to whichever gateway answers, as an app behind two addresses does,
     * resuming from the last offset it saw in each room (API.md "Missed events"). Socket.IO's own
     * client, not `MeshLive`: a `MeshLive` is bound to one address and keeps its resume offsets to
     * itself, so a new one on the other gateway could not resume where the last one stopped.
     */
    const connect = (who: string, jwt: string, home: number, on: (s: Socket) => void, onUnrecovered: () => void) => {
      let attempt = home;
      let connectedBefore = false;
      const offsets: Record<string, string> = {};
      const open = () => {
        const socket = io(urls[attempt % urls.length], {
          transports: ['websocket'],
          auth: { token: jwt, ...(connectedBefore ? { resume: { ...offsets } } : {}) },
          reconnection: false,
        });
        sockets.push(socket);
        socket.onAny((_event: string, _payload: unknown, meta?: PushMeta) => {
          if (meta && Number(meta.offset) > Number(offsets[meta.room] ?? 0)) offsets[meta.room] = meta.offset;
        });
        socket.on('recovery', ({ recovered }: { recovered: boolean }) => {
          tell(who, `recovery ${recovered ? 'recovered' : 'not recovered'}`);
          // Told it could not get what it missed: it refetches what it shows.
          if (connectedBefore && !recovered) onUnrecovered();
          connectedBefore = true;
        });
        socket.once('connect', () => {
          tell(who, `connected to ${urls[attempt % urls.length]}`);
          connections.set(who, (connections.get(who) ?? 0) + 1);
          on(socket);
        });
        const retry = () => {
          socket.removeAllListeners();
          socket.close();
          if (stopped) return;
          attempt++;
          setTimeout(open, 200);
        };
        socket.once('connect_error', (err) => {
          tell(who, `could not connect: ${err.message}`);
          const detail = (err as Error & { description?: { message?: string } }).description?.message ?? '';
          unreachable.push({ at: Date.now(), what: `${who}'s socket: ${err.message} ${detail}`.trim() });
          if (/ECONNREFUSED/.test(`${err.message} ${detail}`)) refusedConnections.push(Date.now());
          log(`a socket could not connect to ${urls[attempt % urls.length]}: ${err.message} ${detail}`);
          retry();
        });
        socket.once('disconnect', (reason) => {
          tell(who, `disconnected: ${reason}`);
          if (reason !== 'io client disconnect') retry();
        });
      };
      open();
    };
    let stopped = false;

    log(`bringing ${options.couriers} couriers online`);
    /** Couriers whose last announcement was refused for good (each refusal is in the log). */
    const notAnnounced = new Set<string>();
    const centre = { lat: 48.85 + Math.random() * 0.01, lng: 2.35 + Math.random() * 0.01 };
    const around = () => ({
      lat: centre.lat + (Math.random() - 0.5) * 0.04,
      lng: centre.lng + (Math.random() - 0.5) * 0.06,
    });
    await Promise.all(
      Array.from({ length: options.couriers }, async (_, i) => {
        const sub = `courier-${i}-${randomUUID().slice(0, 8)}`;
        const jwt = await token(sub, ['courier']);
        const spot = around();
        const answered = new Set<string>();
        // What a courier app says when it comes online, and again when the server asks (`courier.resync`).
        const announce = async () => {
          // In this order: a courier with no position is never offered anything.
          for (const step of [
            () => api.persist(jwt, i, 'PUT /v1/couriers/me/location', (app) => app.couriers.reportLocation(spot)),
            () => api.persist(jwt, i, 'PUT /v1/couriers/me/availability', (app) => app.couriers.setAvailability(true)),
          ]) {
            const done = await step();
            if (done.ok) continue;
            notAnnounced.add(sub);
            log(`${sub} could not announce itself: ${String(done.error)} (answers ${done.seen.join(',')})`);
            return;
          }
          notAnnounced.delete(sub);
        };
        await announce();
        // A working courier's app reports where it is every few seconds; dispatch passes over a courier
        // whose last fix is older than COURIER_STALE_AFTER_S (2 min), and a run is longer than that.
        reporting.push(
          setInterval(
            () =>
              void api
                .call(jwt, i, 'PUT /v1/couriers/me/location', (app) => app.couriers.reportLocation(spot))
                .catch(() => undefined),
            COURIER_REPORT_MS + Math.random() * 1_000,
          ),
        );
        connect(
          sub,
          jwt,
          i,
          (socket) => {
            socket.on('courier.resync', () => void announce());
            socket.on('offer.created', (offer: OfferView) => {
              // An offer can come twice (pushed live, and sent again when the socket reconnects): the app acts once.
              if (answered.has(offer.offerId)) return;
              answered.add(offer.offerId);
              offers.push(Date.now());
              void deliverOffer(api, jwt, sub, offer, told, i, log);
            });
          },
          // Not recovered (a `courier.resync` may have been missed too): the app says again where it is and
          // that it works; the gateway sends its open offer again by itself.
          () => void announce(),
        );
      }),
    );
    const customers = await Promise.all(
      Array.from({ length: options.customers }, async (_, i) => {
        const sub = `customer-${i}-${randomUUID().slice(0, 8)}`;
        const jwt = await token(sub, ['customer']);
        connect(
          sub,
          jwt,
          i,
          (socket) => {
            socket.on('order.updated', (order: OrderView) => {
              told.pushed(order);
            });
          },
          () => void refetchOpen(api, jwt, sub, orders, told, i),
        );
        return { sub, jwt, home: i };
      }),
    );
    const dispatcher = await token('chaos-dispatcher', ['dispatcher']);
    if (mixing) {
      log(`opening ${LIVE_ROOMS} live rooms over ${MIX_REPLICAS} mix replicas`);
      const colours = ['red', 'green', 'blue', 'white'];
      rooms = new LiveRoomFleet(
        urls[0]!,
        hlsDir,
        (sub) => token(sub, ['host']),
        (i) => [colours[i % 4], colours[(i + 1) % 4]].map((colour) => `test:color=${colour}`),
      );
      await rooms.open(LIVE_ROOMS);
    }
    await eventually(
      async () => {
        const nearby = await api.call(dispatcher, 0, 'GET /v1/couriers/nearby', (app) =>
          app.couriers.nearby({ lat: centre.lat, lng: centre.lng, radiusM: 10_000, limit: 100 }),
        );
        const wanted = Math.min(100, options.couriers);
        if (nearby.items.length < wanted) {
          const online = await api.call(dispatcher, 0, 'GET /v1/couriers', (app) => app.couriers.list());
          throw new Error(
            `fleet not online yet: ${nearby.items.length} of ${wanted} couriers nearby, ${online.items.length} online ` +
              `(${online.items.filter((c) => c.status === 'available').length} available), ` +
              `${notAnnounced.size} never announced`,
          );
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    let next = 0;
    placing = setInterval(() => {
      const customer = customers[next++ % customers.length]!;
      const placedIn = window;
      const started = Date.now();
      const key = randomUUID();
      // Sent once under its own key (again, same key, only to the other gateway when this one cannot be
      // reached): placed answers 202, and any other answer, or none, is a refusal.
      void api
        .call(customer.jwt, customer.home, 'POST /v1/orders', (app) =>
          app.orders.place({ pickup: around(), dropoff: around() }, { idempotencyKey: key }),
        )
        .then(
          (order) => {
            orders.set(order.id, {
              id: order.id,
              customer: customer.sub,
              window: placedIn,
              refetchedFinal: false,
            });
          },
          () => refusals.push({ window: placedIn, ms: Date.now() - started }),
        );
    }, 1000 / options.ordersPerS);

    const pause = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
    const backAt: number[] = [];
    const killedAt: number[] = [];
    const windowStarts: number[] = [];
    for (const [i, fault] of options.faults.entries()) {
      window = i;
      windowStarts.push(Date.now());
      await pause(options.loadS);
      killedAt.push(Date.now());
      switch (fault) {
        case 'redis':
        case 'redis-wiped':
          log(`killing redis (SIGKILL)`);
          await redis!.kill();
          await pause(options.downS);
          await redis!.start({ wipe: fault === 'redis-wiped' });
          break;
        case 'kafka':
          log(`killing kafka (SIGKILL)`);
          await brokers[0]!.kill();
          await pause(options.downS);
          await brokers[0]!.start();
          break;
        case 'kafka-leader': {
          const port = await kafkaLeaderOf(bootstrap, 'mesh.orders', 0);
          const broker = brokers[kafkaPorts.indexOf(port)]!;
          log(`killing the broker leading mesh.orders[0] (:${port}, SIGKILL)`);
          await broker.kill();
          await pause(options.downS);
          await broker.start();
          break;
        }
        case 'redis-master': {
          const port = await redisCluster!.masterOf(`{m:${LOAD_MARKET}}`);
          log(`killing the Redis master of market ${LOAD_MARKET} (:${port}, SIGKILL); its replica takes over`);
          await redisCluster!.node(port).kill();
          await pause(options.downS);
          await redisCluster!.node(port).start();
          await redisCluster!.healthy();
          break;
        }
        case 'functions':
          log(`killing functions (SIGKILL)`);
          await functions[0]?.stop('SIGKILL');
          await pause(options.downS);
          await startFunctions(0);
          break;
        case 'gateway':
          log(`killing a gateway (SIGKILL)`);
          await gateways[1]?.stop('SIGKILL');
          await pause(options.downS);
          await startGateway(1);
          break;
        case 'mix': {
          const pid = await rooms!.mixerOf(rooms!.rooms[0]!);
          const k = mixReplicas.findIndex((p) => p?.child.pid === pid);
          if (k === -1) throw new Error(`the first room is mixed by ${pid}, no mix replica of this run`);
          log(`killing mix-${k}, the mix replica of the first live room (pid ${pid}, SIGKILL)`);
          // Its rooms are followed while it is down: another replica is to put them back on air.
          const moved = rooms!.killReplica(pid, () => mixReplicas[k]!.stop('SIGKILL'));
          await pause(options.downS);
          await startMix(k);
          roomFigures[i] = { ...(await moved), notLive: 0, notMixedOnce: 0 };
          break;
        }
      }
      backAt.push(Date.now());
      log(`${fault} is back`);
      await pause(options.loadS);
    }
    windowStarts.push(Date.now());
    clearInterval(placing);
    placing = undefined;
    await pause(2);

    log(`load stopped; waiting up to ${options.drainS} s for ${orders.size} orders to reach their end`);
    const finals = new Map<string, OrderView | null>();
    await eventually(
      async () => {
        for (const order of orders.values()) {
          const known = finals.get(order.id);
          if (known && ['delivered', 'cancelled', 'unassigned'].includes(known.status)) continue;
          // Any answer but the order is null (lost); none at all (no gateway reached) is tried again.
          const found = await api
            .call(dispatcher, 0, `GET /v1/orders/${order.id}`, (app) => app.orders.get(order.id))
            .catch((err: unknown) => {
              if (err instanceof MeshApiError) return null;
              throw err;
            });
          finals.set(order.id, found);
        }
        const open = [...finals.values()].filter(
          (o) => !o || !['delivered', 'cancelled', 'unassigned'].includes(o.status),
        );
        if (open.length > 0) throw new Error(`${open.length} orders not at an end`);
      },
      { timeoutMs: options.drainS * 1000, intervalMs: 1_000 },
    ).catch(() => {
      // Which orders, and where they stopped: what a fault left behind is the first thing to look at.
      const open = [...finals.values()].filter(
        (o) => o && !['delivered', 'cancelled', 'unassigned'].includes(o.status),
      );
      const described = open.map((o) => `${o!.id} ${o!.status} courier ${o!.courierId ?? '-'} since ${o!.updatedAt}`);
      log(`drain ran out; not at an end: ${described.join('; ') || 'none found (lost?)'}`);
    });
    // Pushes of the last deliveries are on their way: wait for them, up to a deadline.
    await eventually(
      () => {
        const waiting = [...orders.values()].filter(
          (o) => finals.get(o.id)?.status === 'delivered' && !told.finalPushed(o.id),
        );
        if (waiting.length > 0) throw new Error('pushes outstanding');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch(() => undefined);
    stopped = true;
    // Every room, once the faults are over: live, its playlist going on, mixed by exactly one ffmpeg.
    if (rooms) {
      await rooms.settled(15_000).catch(() => undefined);
      const end = await rooms.check();
      for (const figures of Object.values(roomFigures)) Object.assign(figures!, end);
    }
    // Which pushes never came, and to whom: the first thing to look at when one is missed. What the
    // order's room history holds says whether its push was made (then lost on the way) or never made.
    // What the outboxes hold says whether the events behind a push never made wait for the relay.
    // The same for an order stuck short of its end.
    const atAnEnd = (o: Tracked) => ['delivered', 'cancelled', 'unassigned'].includes(finals.get(o.id)?.status ?? '');
    const isStuck = (o: Tracked) => finals.get(o.id) && !atAnEnd(o);
    const pushedPerHistory = new Map<string, string>();
    let outboxes = 'not read';
    for (const o of orders.values()) {
      const missed = finals.get(o.id)?.status === 'delivered' && !told.finalPushed(o.id);
      if (!missed && !isStuck(o)) continue;
      if (missed)
        log(`no final push for ${o.id} (customer ${o.customer}, ${connections.get(o.customer) ?? 0} connections)`);
      pushedPerHistory.set(o.id, await historyOf(AppConfig.fromEnv(env).redis, o.id).catch(String));
      if (outboxes === 'not read') {
        const pids = [...gateways, ...functions, ...mixReplicas]
          .filter((p): p is RunningProcess => p !== undefined)
          .map((p) => `${p.name} ${p.child.pid}`);
        outboxes = `${await outboxesOf(AppConfig.fromEnv(env)).catch(String)} (pids: ${pids.join(', ')})`;
      }
    }
    const onKafka =
      pushedPerHistory.size === 0
        ? new Map<string, string[]>()
        : await eventsOnKafka(AppConfig.fromEnv(env), new Set(pushedPerHistory.keys())).catch(
            (err: unknown) => new Map([...pushedPerHistory.keys()].map((id) => [id, [`not read: ${String(err)}`]])),
          );

    return options.faults.map((fault, i) => {
      const mine = [...orders.values()].filter((o) => o.window === i);
      const final = (o: Tracked) => finals.get(o.id);
      const delivered = mine.filter((o) => final(o)?.status === 'delivered');
      const refused = refusals.filter((r) => r.window === i);
      const failedHere = unreachable.filter((u) => u.at >= windowStarts[i]! && u.at < windowStarts[i + 1]!);
      const back = backAt[i];
      const firstOffer = back === undefined ? undefined : offers.find((at) => at >= back);
      const [from, to] = [killedAt[i] ?? 0, (back ?? 0) + options.loadS * 1000];
      const around = [from, ...offers.filter((at) => at > from && at < to), to];
      const gaps = around.slice(1).map((at, k) => at - around[k]!);
      return {
        fault,
        accepted: mine.length,
        refused: refused.length,
        slowestRefusalMs: Math.max(0, ...refused.map((r) => r.ms)),
        delivered: delivered.length,
        lost: mine.filter((o) => final(o) === null).length,
        stuck: mine.filter(isStuck).length,
        stuckOrders: mine.filter(isStuck).map((o) => {
          const f = final(o)!;
          return (
            `${o.id} ${f.status} courier ${f.courierId ?? '-'} since ${f.updatedAt}; ` +
            `its apps: last pushed ${told.lastPushedOf(o.id) ?? 'nothing'}, held by ${told.holdersOf(o.id)} courier(s); ` +
            `the run said: ${(saidOf.get(o.id) ?? ['nothing']).join(' | ')}; ` +
            `its room's history: ${pushedPerHistory.get(o.id) ?? 'not read'}; ` +
            `its events on Kafka: ${(onKafka.get(o.id) ?? ['none']).join(', ')}; the outboxes: ${outboxes}`
          );
        }),
        unassigned: mine.filter((o) => final(o)?.status === 'unassigned').length,
        missedFinalPush: delivered.filter((o) => !told.finalPushed(o.id)).length,
        finalStateUnknown: delivered.filter((o) => !told.finalPushed(o.id) && !o.refetchedFinal).length,
        missed: delivered
          .filter((o) => !told.finalPushed(o.id))
          .map(
            (o) =>
              `${o.id} delivered at ${final(o)!.updatedAt}, last pushed ${told.lastPushedOf(o.id) ?? 'nothing'}; ` +
              `its customer's socket: ${(socketStory.get(o.customer) ?? []).join(', ')}; ` +
              `its room's history: ${pushedPerHistory.get(o.id) ?? 'not read'}; ` +
              `its events on Kafka: ${(onKafka.get(o.id) ?? ['none']).join(', ')}; the outboxes: ${outboxes}`,
          ),
        doubleAssigned: mine.filter((o) => told.holdersOf(o.id) > 1).length,
        backToOfferMs: back !== undefined && firstOffer !== undefined ? firstOffer - back : null,
        longestOfferGapMs: Math.max(0, ...gaps),
        connectionErrors: failedHere.length,
        connectionFailures: failedHere.slice(0, 10).map((u) => `${new Date(u.at).toISOString()} ${u.what}`),
        connectionsRefused: refusedConnections.filter((at) => at >= windowStarts[i]! && at < windowStarts[i + 1]!)
          .length,
        rooms: roomFigures[i] ?? null,
      };
    });
  } catch (err) {
    const tails = [...gateways, ...functions, ...mixReplicas, loadBalancer]
      .filter((p): p is RunningProcess => p !== undefined)
      .map((p) => `--- ${p.name}'s last output:\n${p.output.join('').split('\n').slice(-RECENT_LINES).join('\n')}`);
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\n--- the harness's last lines:\n${recent.join('\n')}\n${tails.join('\n')}`,
      { cause: err },
    );
  } finally {
    if (placing) clearInterval(placing);
    for (const timer of reporting) clearInterval(timer);
    for (const socket of sockets) socket.close();
    await rooms?.close();
    const running = [...gateways, ...functions, ...mixReplicas, loadBalancer].filter(
      (p): p is RunningProcess => p !== undefined,
    );
    await Promise.all(running.map((p) => p.stop('SIGKILL')));
    await Promise.all([
      redisCluster ? redisCluster.kill() : redis!.kill(),
      ...[...brokers, ...kafka.controllers].map((node) => node.kill()),
    ]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The courier app: accept, pick up a moment later, deliver a moment after; each retried while the API is away. */
async function deliverOffer(
  api: FailoverApi,
  jwt: string,
  courierId: string,
  offer: OfferView,
  told: Told,
  home: number,
  log: (line: string) => void,
): Promise<void> {
  const accepted = await api.persist(jwt, home, `POST /v1/offers/${offer.offerId}/accept`, (app) =>
    app.offers.accept(offer.offerId),
  );
  if (!accepted.ok) {
    // An accept whose answer was lost (its gateway died) and was sent again: the app looks at the order.
    const order = await api.persistRead(jwt, home, `GET /v1/orders/${offer.orderId}`, (app) =>
      app.orders.get(offer.orderId),
    );
    if (order?.courierId !== courierId || order.status !== 'assigned') return;
  }
  told.holds(offer.orderId, courierId);
  for (const step of ['pickup', 'deliver'] as const) {
    await new Promise((resolve) => setTimeout(resolve, DELIVERY_STEP_MS));
    const res = await api.persist(jwt, home, `POST /v1/orders/${offer.orderId}/${step}`, (app) =>
      step === 'pickup' ? app.orders.pickUp(offer.orderId) : app.orders.deliver(offer.orderId),
    );
    // A courier whose step was refused is left holding the order: what it was told is the first thing to look at.
    if (!res.ok) {
      const told = res.error instanceof MeshApiError ? JSON.stringify(res.error.problem) : String(res.error);
      log(`${step} of ${offer.orderId} by ${courierId} ended ${res.seen.join(' → ')}: ${told}`);
    }
  }
}

async function refetchOpen(
  api: FailoverApi,
  jwt: string,
  customer: string,
  orders: Map<string, Tracked>,
  told: Told,
  home: number,
): Promise<void> {
  for (const order of orders.values()) {
    if (order.customer !== customer || told.finalPushed(order.id) || order.refetchedFinal) continue;
    const found = await api
      .call(jwt, home, `GET /v1/orders/${order.id}`, (app) => app.orders.get(order.id))
      .catch(() => null);
    if (found?.status === 'delivered') order.refetchedFinal = true;
  }
}

/** What a call persisted in ended with: its result, or the last failure; and the statuses refused on the way (0: no gateway answered). */
type Persisted<T> = { ok: true; value: T; seen: number[] } | { ok: false; error: unknown; seen: number[] };

/** What a failed `fetch` throws: its message, and below it the socket's error (code and message). */
interface ErrorShape {
  message?: string;
  cause?: { code?: string; message?: string };
}

/**
 * The apps' REST calls, through `@mesh/client`: per app, a typed client for each gateway address it
 * knows (no retries of the SDK's own: the harness sends again and counts itself). A call goes to the
 * app's home gateway, or the other when it cannot be reached (each such failure noted in `unreachable`).
 */
class FailoverApi {
  /** Per app (its token), one client per address. */
  private readonly clients = new Map<string, MeshClient[]>();

  constructor(
    private readonly urls: string[],
    private readonly unreachable: Unreachable[],
    private readonly refused: number[],
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The call's result from the first gateway that answers; a problem it answered is thrown as is.
   * `what` (method and path) names the call in the log.
   */
  async call<T>(jwt: string, home: number, what: string, call: (app: MeshClient) => Promise<T>): Promise<T> {
    const clients = this.clientsOf(jwt);
    let lastError: unknown;
    for (let i = 0; i < this.urls.length; i++) {
      const at = (home + i) % this.urls.length;
      try {
        return await call(clients[at]!);
      } catch (err) {
        // The gateway (or the load balancer in front of it) answered: the app's to handle.
        if (err instanceof MeshApiError) throw err;
        lastError = err;
        // What `fetch` threw (the SDK wraps it when the request did not get through; not when the answer broke off).
        // Read by shape, not `instanceof Error`: under Jest, fetch's errors come from another realm.
        const failure = (err instanceof MeshConnectionError ? err.cause : err) as ErrorShape | undefined;
        const below = failure?.cause;
        if (below?.code === 'ECONNREFUSED') this.refused.push(Date.now());
        const cause = [failure?.message ?? 'no message', below?.code, below?.message].filter(Boolean).join(' ');
        this.unreachable.push({ at: Date.now(), what: `${what} to ${this.urls[at]}: ${cause}`.trim() });
        this.log(`${what} could not reach ${this.urls[at]}: ${cause}`);
      }
    }
    throw lastError;
  }

  /** Reads while the answer is 429 or 5xx or no gateway answers; null if it never is the resource. */
  async persistRead<T>(
    jwt: string,
    home: number,
    what: string,
    call: (app: MeshClient) => Promise<T>,
  ): Promise<T | null> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        return await this.call(jwt, home, what, call);
      } catch (err) {
        if (err instanceof MeshApiError && !PASSING.includes(err.status)) return null;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return null;
  }

  /** Retries a courier's action while the answer is 429 or 5xx or no gateway answers, up to a minute. */
  async persist<T>(
    jwt: string,
    home: number,
    what: string,
    call: (app: MeshClient) => Promise<T>,
  ): Promise<Persisted<T>> {
    const deadline = Date.now() + 60_000;
    const seen: number[] = [];
    for (;;) {
      try {
        return { ok: true, value: await this.call(jwt, home, what, call), seen };
      } catch (error) {
        const status = error instanceof MeshApiError ? error.status : 0;
        seen.push(status);
        if (!(status === 0 || PASSING.includes(status)) || Date.now() > deadline) return { ok: false, error, seen };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private clientsOf(jwt: string): MeshClient[] {
    let clients = this.clients.get(jwt);
    if (!clients) {
      clients = this.urls.map(
        (baseUrl) =>
          new MeshClient({
            baseUrl,
            token: jwt,
            retry: { attempts: 0 },
            fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
          }),
      );
      this.clients.set(jwt, clients);
    }
    return clients;
  }
}

/** The figures as the table the README keeps. */
export function chaosTable(figures: FaultFigures[]): string {
  const head = [
    'killed',
    'accepted',
    '503s (slowest ms)',
    'delivered',
    'lost',
    'stuck',
    'unassigned',
    'missed final push',
    'final state unknown',
    'double assigned',
    'back → next offer',
    'longest offer gap',
    'connection errors (refused)',
    'rooms back (slowest)',
  ];
  const rows = figures.map((f) => [
    f.fault,
    String(f.accepted),
    `${f.refused} (${f.slowestRefusalMs})`,
    String(f.delivered),
    String(f.lost),
    String(f.stuck),
    String(f.unassigned),
    String(f.missedFinalPush),
    String(f.finalStateUnknown),
    String(f.doubleAssigned),
    f.backToOfferMs === null ? '—' : `${(f.backToOfferMs / 1000).toFixed(2)} s`,
    `${(f.longestOfferGapMs / 1000).toFixed(2)} s`,
    `${f.connectionErrors} (${f.connectionsRefused})`,
    f.rooms === null
      ? '—'
      : `${f.rooms.back} of ${f.rooms.moved} (${(Math.max(0, ...f.rooms.backMs) / 1000).toFixed(2)} s)`,
  ]);
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
