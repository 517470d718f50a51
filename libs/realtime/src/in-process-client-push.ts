import type { ServerEventName, ServerEventPayload, ServerToClientEvents } from '@mesh/contracts';
import type { Server } from 'socket.io';
import { ClientPush } from './client-push.port';

/** Pushes straight into the Socket.IO server of this process (embedded default, one process). */
export class InProcessClientPush extends ClientPush {
  private server: Server<never, ServerToClientEvents> | undefined;

  attach(server: Server<never, ServerToClientEvents>): void {
    this.server = server;
  }

  emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): void {
    if (!this.server) return;
    const to = this.server.to(typeof rooms === 'string' ? rooms : [...rooms]);
    const target = except ? to.except(except) : to;
    (target.emit as (ev: E, p: ServerEventPayload<E>) => boolean)(event, payload);
  }

  leave(members: string, room: string): void {
    this.server?.in(members).socketsLeave(room);
  }
}
