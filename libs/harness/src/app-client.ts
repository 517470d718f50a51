import type { MeshLive } from '@mesh/client';
import type { ServerEventName, ServerEventPayload } from '@mesh/contracts';
import { eventually } from './eventually';

/** Everything the server pushed to one app's live connection, by event, for tests to wait on. */
export class SocketInbox {
  readonly received: { event: ServerEventName; payload: unknown; at: number }[] = [];

  constructor(readonly live: MeshLive) {
    live.socket.onAny((event: string, payload: unknown) => {
      this.received.push({ event: event as ServerEventName, payload, at: Date.now() });
    });
  }

  all<E extends ServerEventName>(event: E): ServerEventPayload<E>[] {
    return this.received.filter((r) => r.event === event).map((r) => r.payload as ServerEventPayload<E>);
  }

  /** The first `event` matching `where`, waiting for it up to the deadline. */
  async next<E extends ServerEventName>(
    event: E,
    where: (payload: ServerEventPayload<E>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<ServerEventPayload<E>> {
    return eventually(
      () => {
        const found = this.all(event).find(where);
        if (!found) throw new Error(`no ${event} matching yet; got ${JSON.stringify(this.all(event)).slice(0, 500)}`);
        return found;
      },
      { timeoutMs, intervalMs: 20 },
    );
  }
}
