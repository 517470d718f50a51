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
