import type { ServerEventName, ServerEventPayload, ServerToClientEvents } from '@mesh/contracts';
import type { Server } from 'socket.io';
import { broadcast, ClientPush } from './client-push.port';
import type { PushHistory } from './push-history.port';

/** Pushes straight into the Socket.IO server of this process (embedded default, one process). */
export class InProcessClientPush extends ClientPush {
  private server: Server<never, ServerToClientEvents> | undefined;

  constructor(private readonly history: PushHistory) {
    super();
  }

  attach(server: Server<never, ServerToClientEvents>): void {
    this.server = server;
  }

  emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): Promise<void> {
    if (!this.server) return Promise.resolve();
    return broadcast(this.server, this.history, rooms, event, payload, except);
  }

  leave(members: string, room: string): void {
    this.server?.in(members).socketsLeave(room);
  }
}
