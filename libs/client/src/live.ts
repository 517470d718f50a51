import type {
  AckReply,
  ClientEventMap,
  ClientEventName,
  LocationReport,
  OrderView,
  PushMeta,
  ServerEventName,
  ServerEventPayload,
  ServerToClientEvents,
  TypedClientToServerEvents,
} from '@mesh/contracts';
import { rooms } from '@mesh/contracts/rooms';
import { io, type Socket } from 'socket.io-client';
import { MeshConnectionError, RateLimitedError, UnauthorizedError, problemError } from './errors';
import type { Tokens } from './tokens';

export interface MeshLiveOptions {
  /** Socket.IO transports in the order tried (default WebSocket, then long-polling). */
  transports?: ('websocket' | 'polling')[];
  /** Whether a dropped connection is made again, with missed events recovered (default true). */
  reconnection?: boolean;
  /** The longest wait between two reconnection attempts, ms (default 5,000). */
  reconnectionDelayMaxMs?: number;
  /** How long a client event waits for its acknowledgement, ms (default 10,000). */
  ackTimeoutMs?: number;
}

/** A server push handler: the payload, and where it sits in its room's history (absent for unrecorded pushes). */
export type PushHandler<E extends ServerEventName> = (payload: ServerEventPayload<E>, meta?: PushMeta) => void;

/** The handshake's `auth`, as the gateway reads it (`SocketAuth` in the contracts). */
interface Handshake {
  token?: string;
  resume?: Record<string, string>;
}

/**
 * The live connection of `@mesh/client` (API.md "Socket.IO"): typed pushes, typed
 * client events answered through their acknowledgement (a refusal throws its
 * typed problem), and missed-event recovery across reconnects — it keeps the last
 * offset seen per room, resumes from them on any gateway, watches its orders and
 * streams again, and says through `onRecovery` whether the app must refetch.
 */
export class MeshLive {
  readonly socket: Socket<ServerToClientEvents, TypedClientToServerEvents>;
  /** Room → the newest history offset seen there. */
  private readonly offsets = new Map<string, string>();
  /** Rooms this client watches (order and stream rooms), with the event that joins each. */
  private readonly watching = new Map<string, () => Promise<unknown>>();
  /** The rooms whose offsets the last handshake resumed from. */
  private resumed = new Set<string>();
  private readonly recoveryHandlers = new Set<(recovered: boolean) => void>();
  private readonly ackTimeoutMs: number;
  private readonly closedHandlers = new Set<(err: Error) => void>();
  /** The `connect()` waiting for its outcome. */
  private pending: { resolve: () => void; reject: (err: Error) => void } | null = null;
  /** Whether the token was refreshed since the last successful connect (once is enough: a fresh one refused is final). */
  private refreshed = false;
  private lastToken: string | undefined;

  constructor(
    baseUrl: string,
    private readonly tokens: Tokens,
    options: MeshLiveOptions = {},
  ) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.socket = io(baseUrl || undefined, {
      autoConnect: false,
      transports: options.transports ?? ['websocket', 'polling'],
      reconnection: options.reconnection ?? true,
      reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 5_000,
      auth: (send: (auth: Handshake) => void) => {
        void this.handshake().then(send, () => send({}));
      },
    });
    this.socket.onAny((_event: string, _payload: unknown, meta?: PushMeta) => this.saw(meta));
    this.socket.on('recovery', ({ recovered }) => this.recovered(recovered));
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('connect_error', (err) => this.failed(err));
  }

  /** Connects; rejects with `UnauthorizedError` when the gateway refuses the token (after one refresh). */
  connect(): Promise<this> {
    return new Promise<void>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.connect();
    }).then(() => this);
  }

  /** The connection ended for good: the gateway refused the token even after a refresh. */
  onClosed(handler: (err: Error) => void): () => void {
    this.closedHandlers.add(handler);
    return () => void this.closedHandlers.delete(handler);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Handles a server push; returns what stops handling it. */
  on<E extends ServerEventName>(event: E, handler: PushHandler<E>): () => void {
    const listener = handler as never;
    this.socket.on(event, listener);
    return () => void this.socket.off(event, listener);
  }

  /**
   * After each (re)connect: `true` when every event missed while away came first
   * and in order; `false` when the app must refetch what it shows (the first
   * connect, history gone, or a watched room it has no offset for yet).
   */
  onRecovery(handler: (recovered: boolean) => void): () => void {
    this.recoveryHandlers.add(handler);
    return () => void this.recoveryHandlers.delete(handler);
  }

  /** Sends a client event and resolves with its acknowledgement, or throws the refusal's typed problem. */
  async send<E extends ClientEventName>(
    event: E,
    payload: ClientEventMap[E]['payload'],
  ): Promise<ClientEventMap[E]['reply']> {
    const timed = this.socket.timeout(this.ackTimeoutMs) as unknown as {
      emitWithAck(event: E, payload: ClientEventMap[E]['payload']): Promise<AckReply<ClientEventMap[E]['reply']>>;
    };
    let reply: AckReply<ClientEventMap[E]['reply']>;
    try {
      reply = await timed.emitWithAck(event, payload);
    } catch (err) {
      // Socket.IO's only rejection here: no acknowledgement in time (not connected, or the gateway went away).
      throw new MeshConnectionError(`${event}: no acknowledgement within ${this.ackTimeoutMs} ms`, { cause: err });
    }
    if (!reply.ok) throw problemError(reply.error);
    return reply;
  }

  /** A courier's position (at most a few per second). */
  async reportLocation(report: LocationReport): Promise<void> {
    await this.send('courier.location', report);
  }

  /** The offered courier: the order, now `assigned`; an offer expired or answered throws `ConflictError`. */
  async acceptOffer(offerId: string): Promise<OrderView> {
    return (await this.send('offer.accept', { offerId })).order;
  }

  async declineOffer(offerId: string): Promise<void> {
    await this.send('offer.decline', { offerId });
  }

  /** Receives the order's `order.updated` and its courier's positions, also after reconnecting; `NotFoundError` if not visible. */
  watchOrder(orderId: string): Promise<void> {
    return this.watch(rooms.order(orderId), () =>
      this.send('order.subscribe', this.withOffset(rooms.order(orderId), { orderId })),
    );
  }

  async unwatchOrder(orderId: string): Promise<void> {
    this.unwatched(rooms.order(orderId));
    await this.send('order.unsubscribe', { orderId });
  }

  /** Receives the stream's `stream.updated`, also after reconnecting; `NotFoundError` if not visible. */
  watchStream(streamId: string): Promise<void> {
    return this.watch(rooms.stream(streamId), () =>
      this.send('stream.subscribe', this.withOffset(rooms.stream(streamId), { streamId })),
    );
  }

  async unwatchStream(streamId: string): Promise<void> {
    this.unwatched(rooms.stream(streamId));
    await this.send('stream.unsubscribe', { streamId });
  }

  /** The newest offset seen per room (what a reconnect resumes from). */
  positions(): Record<string, string> {
    return Object.fromEntries(this.offsets);
  }

  close(): void {
    this.socket.disconnect();
  }

  private async watch(room: string, join: () => Promise<unknown>): Promise<void> {
    await join();
    this.watching.set(room, join);
  }

  private unwatched(room: string): void {
    this.watching.delete(room);
    this.offsets.delete(room);
  }

  private withOffset<T extends object>(room: string, ref: T): T & { offset?: string } {
    const offset = this.offsets.get(room);
    return offset === undefined ? ref : { ...ref, offset };
  }

  private async handshake(): Promise<Handshake> {
    const token = await this.tokens.get();
    this.lastToken = token;
    // At most 100 rooms (the gateway's limit): the ones this client is in by right and those it watches.
    const resume = [...this.offsets].slice(-100);
    this.resumed = new Set(resume.map(([room]) => room));
    return resume.length > 0 ? { token, resume: Object.fromEntries(resume) } : { token };
  }

  private saw(meta: PushMeta | undefined): void {
    if (!meta || typeof meta.room !== 'string' || !/^\d{1,19}$/.test(meta.offset ?? '')) return;
    const known = this.offsets.get(meta.room);
    if (known === undefined || BigInt(meta.offset) > BigInt(known)) this.offsets.set(meta.room, meta.offset);
  }

  /** Watched rooms the handshake could not resume (no offset yet) are joined again, without replay. */
  private rewatch(): void {
    for (const [room, join] of this.watching) {
      if (this.resumed.has(room)) continue;
      join().catch(() => this.watching.delete(room));
    }
  }

  private recovered(byServer: boolean): void {
    const unresumed = [...this.watching.keys()].some((room) => !this.resumed.has(room));
    for (const handler of this.recoveryHandlers) handler(byServer && !unresumed);
  }

  private onConnect(): void {
    this.refreshed = false;
    this.pending?.resolve();
    this.pending = null;
    this.rewatch();
  }

  /**
   * A failed handshake. Refused: once more with a fresh token when the source can give
   * one, else closed for good. Unreachable: Socket.IO tries again by itself while
   * `reconnection` is on; `connect()` fails only when it will not.
   */
  private failed(err: Error): void {
    if (err.message === 'unauthorized') {
      if (this.tokens.refreshable && !this.refreshed) {
        this.refreshed = true;
        void this.tokens
          .refresh(this.lastToken)
          .catch(() => undefined)
          .then(() => this.socket.connect());
        return;
      }
      this.close();
      this.settle(unauthorized());
      return;
    }
    if (err.message === 'too many connections') {
      // The user's connections are at the gateway's cap (SOCKETS_PER_USER): another one would be refused too.
      this.close();
      this.settle(
        new RateLimitedError({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: 429,
          detail: 'the gateway refused the socket: this user has as many connections open as it allows',
        }),
      );
      return;
    }
    if (!this.socket.active) {
      this.settle(new MeshConnectionError(`the gateway's socket could not be reached: ${err.message}`, { cause: err }));
    }
  }

  private settle(err: Error): void {
    if (this.pending) this.pending.reject(err);
    else for (const handler of this.closedHandlers) handler(err);
    this.pending = null;
  }
}

function unauthorized(): UnauthorizedError {
  return new UnauthorizedError({
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'the gateway refused the socket handshake: the token is missing, expired or not valid',
  });
}
