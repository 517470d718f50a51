import type { ServerEventName, ServerEventPayload, ServerToClientEvents } from '@mesh/contracts';
import { Emitter } from '@socket.io/redis-emitter';
import type { Publisher } from '@mesh/redis';
import { broadcast, ClientPush, socketIoChannel } from './client-push.port';
import type { PushHistory } from './push-history.port';

/** Pushes through the Socket.IO Redis emitter; every gateway on the Redis adapter delivers. */
export class RedisClientPush extends ClientPush {
  private readonly emitter: Emitter<ServerToClientEvents>;

  constructor(
    private readonly client: Publisher,
    redisKeyPrefix: string,
    private readonly history: PushHistory,
  ) {
    super();
    // The emitter only ever publishes.
    this.emitter = new Emitter<ServerToClientEvents>(client, { key: socketIoChannel(redisKeyPrefix) });
  }

  emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): Promise<void> {
    return broadcast(this.emitter, this.history, rooms, event, payload, except);
  }

  leave(members: string, room: string): void {
    this.emitter.in(members).socketsLeave(room);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
