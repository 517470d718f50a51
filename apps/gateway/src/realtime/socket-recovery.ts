import { Injectable } from '@nestjs/common';
import { rooms as roomNames, type Principal, type PushMeta } from '@mesh/contracts';
import { PushHistory, type PushRecord } from '@mesh/realtime';
import type { Socket } from 'socket.io';
import { OrdersService } from '../orders/orders.service';
import { StreamsService } from '../streams/streams.service';

/** Room → the last history offset a client saw there. */
export type ResumeOffsets = Readonly<Record<string, string>>;

/**
 * Missed-event recovery (API.md "Missed events"): joins a socket to its rooms
 * and first sends it, in order and once, what was pushed to them since the
 * offsets it resumes from, holding back anything live until that is done.
 */
@Injectable()
export class SocketRecovery {
  constructor(
    private readonly history: PushHistory,
    private readonly orders: OrdersService,
    private readonly streams: StreamsService,
  ) {}

  /**
   * Joins `base` and the resumed order and stream rooms the user may still watch;
   * answers whether everything missed since `resume` was sent (false: refetch).
   */
  async connect(
    socket: Socket,
    principal: Principal,
    base: readonly string[],
    resume?: ResumeOffsets,
  ): Promise<boolean> {
    // From here on, what goes to these rooms reaches this socket live (a later resubscribe need not replay it).
    this.connections.set(socket, { base, from: await this.history.position() });
    if (!resume || Object.keys(resume).length === 0) {
      await socket.join([...base]);
      return false;
    }
    const watchable = await Promise.all(
      Object.keys(resume)
        .filter((room) => !base.includes(room))
        .map(async (room) => ((await this.mayWatch(principal, room)) ? room : null)),
    );
    // A room it is always in but has no offset for (nothing came through it yet): it has seen everything
    // up to the newest offset it saw anywhere, since offsets are one sequence and it was in that room throughout.
    const newest = Object.values(resume).reduce((max, o) => (Number(o) > Number(max) ? o : max));
    const offsets: Record<string, string> = {};
    for (const room of base) offsets[room] = resume[room] ?? newest;
    for (const room of watchable) if (room) offsets[room] = resume[room] as string;
    // Every offset it names counts as seen (a push is filed under its first room, which this socket may not be in).
    return this.replay(socket, offsets, { ...resume, ...offsets });
  }

  /** Joins `room` (already authorised) and, given an offset, sends what was missed there first. */
  async watch(socket: Socket, room: string, offset?: string): Promise<boolean> {
    if (offset === undefined) {
      await socket.join(room);
      return false;
    }
    const connection = this.connections.get(socket);
    // Pushes that also went to this socket's own rooms since it connected have reached it already.
    const delivered = (record: PushRecord) =>
      connection !== undefined &&
      Number(record.offset) > Number(connection.from) &&
      record.rooms.some((r) => connection.base.includes(r));
    return this.replay(socket, { [room]: offset }, { [room]: offset }, delivered);
  }

  /** One replay at a time per socket (a resubscribe may come while the connect's replay runs). */
  private readonly replaying = new WeakMap<Socket, Promise<unknown>>();

  /** Per socket: the rooms it joined on connecting, and the history position then. */
  private readonly connections = new WeakMap<Socket, { base: readonly string[]; from: string }>();

  /**
   * Replays each room of `offsets` from its offset; a push is left out when
   * `seen` (room → offset) covers it through any of its rooms, or it was `delivered`.
   */
  private replay(
    socket: Socket,
    offsets: Record<string, string>,
    seen: Readonly<Record<string, string>>,
    delivered: (record: PushRecord) => boolean = () => false,
  ): Promise<boolean> {
    const previous = this.replaying.get(socket) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.replayNow(socket, offsets, seen, delivered));
    this.replaying.set(socket, next);
    return next;
  }

  private async replayNow(
    socket: Socket,
    offsets: Record<string, string>,
    seen: Readonly<Record<string, string>>,
    delivered: (record: PushRecord) => boolean,
  ): Promise<boolean> {
    const gate = writeGate(socket);
    gate.hold();
    const sent = new Set<string>();
    try {
      await socket.join(Object.keys(offsets));
      const histories = await Promise.all(
        Object.entries(offsets).map(async ([room, offset]) => ({
          room,
          since: await this.history.since(room, offset),
        })),
      );
      const missed = new Map<string, { record: PushRecord; room: string }>();
      // What is left of a history that lost some is still sent; the client is told to refetch as well.
      for (const { room, since } of histories) {
        for (const record of since?.records ?? []) {
          // Seen already if it reached the client through any room it had got that far in.
          const known =
            delivered(record) ||
            record.rooms.some((r) => seen[r] !== undefined && Number(seen[r]) >= Number(record.offset));
          if (!known && !missed.has(record.id)) missed.set(record.id, { record, room: record.rooms[0] ?? room });
        }
      }
      const ordered = [...missed.values()].sort((a, b) => Number(a.record.offset) - Number(b.record.offset));
      gate.passThrough(() => {
        for (const { record, room } of ordered) {
          const meta: PushMeta = { id: record.id, room, offset: record.offset };
          socket.emit(record.event, record.payload, meta);
          sent.add(record.id);
        }
      });
      return histories.every((h) => h.since?.complete === true);
    } finally {
      gate.release(sent);
    }
  }

  private async mayWatch(principal: Principal, room: string): Promise<boolean> {
    const [kind, id] = [room.slice(0, room.indexOf(':')), room.slice(room.indexOf(':') + 1)];
    if (!id) return false;
    const check =
      room === roomNames.order(id)
        ? this.orders.visible(principal, id)
        : room === roomNames.stream(id) && kind === 'stream'
          ? this.streams.visible(principal, id)
          : Promise.reject(new Error('not a room one subscribes to'));
    return check.then(
      () => true,
      () => false,
    );
  }
}

interface EngineClient {
  writeToEngine(packets: unknown, options: unknown): void;
}

/**
 * How long a push just replayed is kept from reaching the socket again live. A push
 * is in history before it is published, so a replay can send one whose live copy is
 * still on its way and arrives after the replay is over.
 */
const REPLAYED_KEPT_MS = 10_000;

interface WriteGate {
  /** Holds back what is written to the connection (live broadcasts) until `release`. */
  hold(): void;
  /** Writes what `send` writes at once, past the hold (the replay). */
  passThrough(send: () => void): void;
  /** Lets the held writes through, less the `replayed` pushes, which are also kept out for a while after. */
  release(replayed: ReadonlySet<string>): void;
}

const gates = new WeakMap<object, WriteGate>();

/**
 * The gate in front of a socket's connection, made on its first replay: Socket.IO's
 * broadcasts and emits for one client meet at `writeToEngine`, whichever gateway they came from.
 */
function writeGate(socket: Socket): WriteGate {
  const client = socket.client as unknown as EngineClient;
  const existing = gates.get(client);
  if (existing) return existing;
  const write = client.writeToEngine.bind(client);
  const held: [unknown, unknown][] = [];
  /** Push id → until when it is kept out (performance.now()). */
  const replayed = new Map<string, number>();
  let [holding, passing] = [false, false];
  const replayedAlready = (packets: unknown): boolean => {
    if (replayed.size === 0) return false;
    const now = performance.now();
    for (const [id, until] of replayed) if (until < now) replayed.delete(id);
    const id = pushId(packets);
    return id !== undefined && replayed.has(id);
  };
  client.writeToEngine = (packets, options) => {
    if (passing) write(packets, options);
    else if (holding) held.push([packets, options]);
    else if (!replayedAlready(packets)) write(packets, options);
  };
  const gate: WriteGate = {
    hold: () => (holding = true),
    passThrough(send) {
      passing = true;
      try {
        send();
      } finally {
        passing = false;
      }
    },
    release(sent) {
      holding = false;
      const until = performance.now() + REPLAYED_KEPT_MS;
      for (const id of sent) replayed.set(id, until);
      for (const [packets, options] of held.splice(0)) if (!replayedAlready(packets)) write(packets, options);
    },
  };
  gates.set(client, gate);
  return gate;
}

/** The PushMeta id in an encoded event packet (`42["event",payload,meta]`), if any. */
function pushId(packets: unknown): string | undefined {
  const first = Array.isArray(packets) ? (packets as unknown[])[0] : packets;
  if (typeof first !== 'string') return undefined;
  const start = first.indexOf('[');
  if (start < 0) return undefined;
  try {
    const [, , meta] = JSON.parse(first.slice(start)) as [unknown, unknown, Partial<PushMeta> | undefined];
    return typeof meta?.id === 'string' ? meta.id : undefined;
  } catch {
    return undefined;
  }
}
