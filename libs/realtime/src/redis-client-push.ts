import type { ServerEventName, ServerEventPayload } from '@mesh/contracts';
import { broadcast, ClientPush, socketIoChannel } from './client-push.port';
import type { PushHistory } from './push-history.port';
import { ShardedEmitter, type ShardedPublisher } from './sharded-emitter';

/** The connection pushes go out on (a Redis or Redis Cluster client, of its own). */
export type PushConnection = ShardedPublisher & { quit(): Promise<unknown>; disconnect(): void };

/** Pushes through Redis sharded Pub/Sub; every gateway on the sharded Redis adapter delivers. */
export class RedisClientPush extends ClientPush {
  private readonly emitter: ShardedEmitter;

  constructor(
    private readonly client: PushConnection,
    redisKeyPrefix: string,
    private readonly history: PushHistory,
  ) {
    super();
    this.emitter = new ShardedEmitter(client, socketIoChannel(redisKeyPrefix));
  }

  /** Resolves once Redis took the push; a publish that failed (its node gone) fails the push, which is done again. */
  emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): Promise<void> {
    return broadcast(this.emitter, this.history, rooms, event, payload, except);
  }

  leave(members: string, room: string): void {
    // Not awaited: a leave that fails is not a push lost (the courier only stops watching).
    this.emitter.socketsLeave(members, room).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
