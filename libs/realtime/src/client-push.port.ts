import {
  newId,
  UNRECORDED_EVENTS,
  type PushMeta,
  type ServerEventName,
  type ServerEventPayload,
} from '@mesh/contracts';
import type { PushHistory } from './push-history.port';

/**
 * Pushes server events to Socket.IO rooms, from any process. Functions use it
 * instead of talking to a gateway; the gateways deliver to their sockets.
 */
export abstract class ClientPush {
  /**
   * Emits to every socket in `rooms` once, except those also in `except` (e.g. the
   * host, who gets its own copy). Resolves once the push is in the rooms' history
   * and sent; rejects (nothing sent) when the history cannot be written.
   */
  abstract emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): Promise<void>;

  /** Makes every socket in `members` leave `room` (e.g. a courier whose offer lapsed stops watching the order). */
  abstract leave(members: string, room: string): void;
}

/**
 * The sharded Pub/Sub channel prefix shared by the gateways' adapter and the functions'
 * emitter. A hash tag: every channel of it (the broadcasts', each gateway's answers)
 * is in one slot, served by one master of a Redis Cluster.
 */
export function socketIoChannel(redisKeyPrefix: string): string {
  return `{${redisKeyPrefix}socket.io}`;
}

/** What the Socket.IO server and the sharded emitter have in common for broadcasting. */
export interface Broadcaster {
  to(rooms: string | string[]): Broadcast;
}
interface Broadcast {
  except(rooms: string | string[]): Broadcast;
  /** The emitter's resolves once Redis has the broadcast; the server's is done when it returns. */
  emit(event: string, ...args: unknown[]): boolean | Promise<void>;
}

/**
 * ClientPush.emit over either. The push goes into each room's history first
 * (API.md "Missed events"), then out in one broadcast to all its rooms (a socket
 * in several gets it once), with the `PushMeta` of its first room: one push has
 * one offset in all its rooms, so a client files it under that room and a
 * resume that names it counts it seen whichever room it came through.
 * Resolves once the broadcast is out (the emitter's publish answered).
 */
export async function broadcast(
  via: Broadcaster,
  history: PushHistory,
  rooms: string | readonly string[],
  event: ServerEventName,
  payload: unknown,
  except?: string,
): Promise<void> {
  const targets = typeof rooms === 'string' ? [rooms] : [...rooms];
  const to = via.to(targets).except(except ? [except] : []);
  if (UNRECORDED_EVENTS.includes(event)) {
    await to.emit(event, payload);
    return;
  }
  const id = newId();
  const offset = await history.append(targets, { id, event, payload });
  const meta: PushMeta = { id, room: targets[0] ?? '', offset };
  await to.emit(event, payload, meta);
}
