import { TokenIssuer } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import type { OfferView, OrderView, PushMeta, Role } from '@mesh/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { eventually } from '../../libs/testing/src/eventually';
import { kafkaBroker, redisServer } from '../../libs/testing/src/infra-processes';
import { freePort, startProcess, waitForHttp, type RunningProcess } from '../../libs/testing/src/stack';

/** What a fault test kills: one process at a time, SIGKILL by its pid, restarted `downS` later. */
export const FAULTS = ['redis', 'redis-wiped', 'kafka', 'functions', 'gateway'] as const;
export type Fault = (typeof FAULTS)[number];

export interface ChaosOptions {
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
  unassigned: number;
  /** Delivered orders whose customer got no `order.updated` saying so over the socket. */
  missedFinalPush: number;
  /** …and who did not learn it by refetching after a reconnect either. */
  finalStateUnknown: number;
  /** Orders two couriers were each told they hold (accept answered 200). */
  doubleAssigned: number;
  /** From the killed process being back (ready) to the next offer reaching a courier. */
  backToOfferMs: number | null;
}

interface Tracked {
  id: string;
  customer: string;
  window: number;
  couriers: Set<string>;
  pushedFinal: boolean;
  refetchedFinal: boolean;
}

const DELIVERY_STEP_MS = 300;

/**
 * The fault tier's load and bookkeeping: its own Redis and Kafka broker (child
 * processes whose pids it kills), one functions process and two gateways; couriers
 * and customers on Socket.IO, as apps with both gateways' addresses, failing over.
 */
export async function runChaos(options: ChaosOptions): Promise<FaultFigures[]> {
  const { log } = options;
  const dir = mkdtempSync(join(tmpdir(), 'mesh-chaos-'));
  const [redisPort, kafkaPort, controllerPort, functionsPort, portA, portB] = (await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  )) as [number, number, number, number, number, number];
  const redis = redisServer(redisPort, join(dir, 'redis'));
  const kafka = kafkaBroker(kafkaPort, controllerPort, join(dir, 'kafka'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    ADAPTERS: 'real',
    HOST: '127.0.0.1',
    FUNCTIONS_PORT: String(functionsPort),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_REQUESTS: '0',
    // The whole fleet and its customers come from this one address.
    ANON_RATE_LIMIT_REQUESTS: '0',
    ANON_SOCKETS_PER_IP: '10000',
    OFFER_TTL_S: '5',
    DISPATCH_RETRY_S: '1',
  };
  const gatewayEnv = (port: number) => ({ ...env, PORT: String(port) });
  const urls = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  let functions: RunningProcess | undefined;
  const gateways: (RunningProcess | undefined)[] = [undefined, undefined];
  const startFunctions = async () => {
    functions = startProcess('functions', 'apps/functions/src/main.js', env);
    await waitForHttp(`http://127.0.0.1:${functionsPort}/healthz`, functions);
  };
  const startGateway = async (i: number) => {
    const gateway = startProcess(`gateway-${i}`, 'apps/gateway/src/main.js', gatewayEnv(i === 0 ? portA : portB));
    gateways[i] = gateway;
    await waitForHttp(`${urls[i]}/readyz`, gateway);
  };
  const sockets: Socket[] = [];
  let placing: NodeJS.Timeout | undefined;
  try {
    log(`starting Redis :${redisPort} and Kafka :${kafkaPort} in ${dir}`);
    await Promise.all([redis.start(), kafka.start()]);
    await startFunctions();
    await Promise.all([startGateway(0), startGateway(1)]);
    const issuer = new TokenIssuer(AppConfig.fromEnv(env));
    const token = (sub: string, roles: Role[]) => issuer.issue({ sub, roles });
    const api = new FailoverApi(urls);

    const orders = new Map<string, Tracked>();
    const offers: number[] = [];
    let window = 0;
    const refusals: { window: number; ms: number }[] = [];

    /**
     * A socket that reconnects to whichever gateway answers, as an app behind two addresses does,
     * resuming from the last offset it saw in each room (API.md "Missed events").
     */
    const connect = (jwt: string, home: number, on: (s: Socket) => void, onUnrecovered: () => void) => {
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
          // Told it could not get what it missed: it refetches what it shows.
          if (connectedBefore && !recovered) onUnrecovered();
          connectedBefore = true;
        });
        socket.once('connect', () => on(socket));
        const retry = () => {
          socket.removeAllListeners();
          socket.close();
          if (stopped) return;
          attempt++;
          setTimeout(open, 200);
        };
        socket.once('connect_error', retry);
        socket.once('disconnect', (reason) => {
          if (reason !== 'io client disconnect') retry();
        });
      };
      open();
    };
    let stopped = false;

    log(`bringing ${options.couriers} couriers online`);
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
        // What a courier app says when it comes online, and again when the server asks (`courier.resync`).
        const announce = async () => {
          await api.persist(jwt, 'PUT', '/v1/couriers/me/location', i, spot);
          await api.persist(jwt, 'PUT', '/v1/couriers/me/availability', i, { available: true });
        };
        await announce();
        connect(
          jwt,
          i,
          (socket) => {
            socket.on('courier.resync', () => void announce());
            socket.on('offer.created', (offer: OfferView) => {
              offers.push(Date.now());
              void deliverOffer(api, jwt, sub, offer, orders, i);
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
          jwt,
          i,
          (socket) => {
            socket.on('order.updated', (order: OrderView) => {
              const tracked = orders.get(order.id);
              if (tracked && order.status === 'delivered') tracked.pushedFinal = true;
            });
          },
          () => void refetchOpen(api, jwt, sub, orders, i),
        );
        return { sub, jwt, home: i };
      }),
    );
    const dispatcher = await token('chaos-dispatcher', ['dispatcher']);
    await eventually(
      async () => {
        const res = await api.call<{ items: unknown[] }>(
          dispatcher,
          'GET',
          `/v1/couriers/nearby?lat=${centre.lat}&lng=${centre.lng}&radiusM=10000&limit=100`,
        );
        if (res.body.items.length < Math.min(100, options.couriers)) throw new Error('fleet not online yet');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    let next = 0;
    placing = setInterval(() => {
      const customer = customers[next++ % customers.length]!;
      const placedIn = window;
      const started = Date.now();
      const key = randomUUID();
      void api
        .call<OrderView>(customer.jwt, 'POST', '/v1/orders', { pickup: around(), dropoff: around() }, customer.home, {
          'idempotency-key': key,
        })
        .then(
          (res) => {
            if (res.status === 202) {
              orders.set(res.body.id, {
                id: res.body.id,
                customer: customer.sub,
                window: placedIn,
                couriers: new Set(),
                pushedFinal: false,
                refetchedFinal: false,
              });
            } else refusals.push({ window: placedIn, ms: Date.now() - started });
          },
          () => refusals.push({ window: placedIn, ms: Date.now() - started }),
        );
    }, 1000 / options.ordersPerS);

    const pause = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
    const backAt: number[] = [];
    for (const [i, fault] of options.faults.entries()) {
      window = i;
      await pause(options.loadS);
      log(`killing ${fault} (SIGKILL)`);
      switch (fault) {
        case 'redis':
        case 'redis-wiped':
          await redis.kill();
          await pause(options.downS);
          await redis.start({ wipe: fault === 'redis-wiped' });
          break;
        case 'kafka':
          await kafka.kill();
          await pause(options.downS);
          await kafka.start();
          break;
        case 'functions':
          await functions?.stop('SIGKILL');
          await pause(options.downS);
          await startFunctions();
          break;
        case 'gateway':
          await gateways[1]?.stop('SIGKILL');
          await pause(options.downS);
          await startGateway(1);
          break;
      }
      backAt.push(Date.now());
      log(`${fault} is back`);
      await pause(options.loadS);
    }
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
          const res = await api.call<OrderView>(dispatcher, 'GET', `/v1/orders/${order.id}`);
          finals.set(order.id, res.status === 200 ? res.body : null);
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
        const waiting = [...orders.values()].filter((o) => finals.get(o.id)?.status === 'delivered' && !o.pushedFinal);
        if (waiting.length > 0) throw new Error('pushes outstanding');
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    ).catch(() => undefined);
    stopped = true;

    return options.faults.map((fault, i) => {
      const mine = [...orders.values()].filter((o) => o.window === i);
      const final = (o: Tracked) => finals.get(o.id);
      const delivered = mine.filter((o) => final(o)?.status === 'delivered');
      const refused = refusals.filter((r) => r.window === i);
      const back = backAt[i];
      const firstOffer = back === undefined ? undefined : offers.find((at) => at >= back);
      return {
        fault,
        accepted: mine.length,
        refused: refused.length,
        slowestRefusalMs: Math.max(0, ...refused.map((r) => r.ms)),
        delivered: delivered.length,
        lost: mine.filter((o) => final(o) === null).length,
        stuck: mine.filter((o) => {
          const f = final(o);
          return f && !['delivered', 'cancelled', 'unassigned'].includes(f.status);
        }).length,
        unassigned: mine.filter((o) => final(o)?.status === 'unassigned').length,
        missedFinalPush: delivered.filter((o) => !o.pushedFinal).length,
        finalStateUnknown: delivered.filter((o) => !o.pushedFinal && !o.refetchedFinal).length,
        doubleAssigned: mine.filter((o) => o.couriers.size > 1).length,
        backToOfferMs: back !== undefined && firstOffer !== undefined ? firstOffer - back : null,
      };
    });
  } finally {
    if (placing) clearInterval(placing);
    for (const socket of sockets) socket.close();
    await Promise.all([...gateways.map((g) => g?.stop('SIGKILL')), functions?.stop('SIGKILL')]);
    await Promise.all([redis.kill(), kafka.kill()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The courier app: accept, pick up a moment later, deliver a moment after; each retried while the API is away. */
async function deliverOffer(
  api: FailoverApi,
  jwt: string,
  courierId: string,
  offer: OfferView,
  orders: Map<string, Tracked>,
  home: number,
): Promise<void> {
  const accepted = await api.persist(jwt, 'POST', `/v1/offers/${offer.offerId}/accept`, home);
  if (accepted !== 200) return;
  orders.get(offer.orderId)?.couriers.add(courierId);
  for (const step of ['pickup', 'deliver']) {
    await new Promise((resolve) => setTimeout(resolve, DELIVERY_STEP_MS));
    await api.persist(jwt, 'POST', `/v1/orders/${offer.orderId}/${step}`, home);
  }
}

async function refetchOpen(
  api: FailoverApi,
  jwt: string,
  customer: string,
  orders: Map<string, Tracked>,
  home: number,
): Promise<void> {
  for (const order of orders.values()) {
    if (order.customer !== customer || order.pushedFinal || order.refetchedFinal) continue;
    const res = await api.call<OrderView>(jwt, 'GET', `/v1/orders/${order.id}`, undefined, home).catch(() => null);
    if (res?.status === 200 && res.body.status === 'delivered') order.refetchedFinal = true;
  }
}

/** HTTP to the app's home gateway, or the other when it cannot be reached. */
class FailoverApi {
  constructor(private readonly urls: string[]) {}

  async call<T = unknown>(
    jwt: string,
    method: string,
    path: string,
    body?: unknown,
    home = 0,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    let lastError: unknown;
    for (let i = 0; i < this.urls.length; i++) {
      const url = this.urls[(home + i) % this.urls.length]!;
      try {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${jwt}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  /** Retries a courier's action while the answer is 503 or no gateway answers; resolves with the final status. */
  async persist(jwt: string, method: string, path: string, home: number, body?: unknown): Promise<number> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await this.call(jwt, method, path, body, home).then(
        (res) => res.status,
        () => 0,
      );
      if ((status !== 503 && status !== 0 && status !== 429) || Date.now() > deadline) return status;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
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
  ]);
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
