import type { ServerEventName, ServerEventPayload } from '@mesh/contracts';

/**
 * Pushes server events to Socket.IO rooms, from any process. Functions use it
 * instead of talking to a gateway; the gateways deliver to their sockets.
 */
export abstract class ClientPush {
  /** Emits to every socket in `rooms`, except those also in `except` (e.g. the host, who gets its own copy). */
  abstract emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): void;

  /** Makes every socket in `members` leave `room` (e.g. a courier whose offer lapsed stops watching the order). */
  abstract leave(members: string, room: string): void;
}

/** The Redis channel prefix shared by the gateways' adapter and the functions' emitter. */
export function socketIoChannel(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}socket.io`;
}

/** What the Socket.IO server and the Redis emitter have in common for broadcasting. */
interface Broadcaster {
  to(rooms: string | string[]): Broadcast;
}
interface Broadcast {
  except(room: string): Broadcast;
  emit(event: string, payload: unknown): boolean;
}

/** ClientPush.emit over either: to every socket in `rooms`, except those in `except`. */
export function broadcast(
  via: Broadcaster,
  rooms: string | readonly string[],
  event: ServerEventName,
  payload: unknown,
  except?: string,
): void {
  const to = via.to(typeof rooms === 'string' ? rooms : [...rooms]);
  (except ? to.except(except) : to).emit(event, payload);
}
