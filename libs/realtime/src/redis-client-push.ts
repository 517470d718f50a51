import type { ServerEventName, ServerEventPayload, ServerToClientEvents } from '@mesh/contracts';
import { Emitter } from '@socket.io/redis-emitter';
import type { Publisher } from '@mesh/redis';
import { broadcast, ClientPush, socketIoChannel } from './client-push.port';
import type { PushHistory } from './push-history.port';

/** Pushes through the Socket.IO Redis emitter; every gateway on the Redis adapter delivers. */
export class RedisClientPush extends ClientPush {
  private readonly emitter: Emitter<ServerToClientEvents>;
  private readonly publisher: AnsweredPublisher;

  constructor(
    private readonly client: Publisher,
    redisKeyPrefix: string,
    private readonly history: PushHistory,
  ) {
    super();
    // The emitter only ever publishes.
    this.publisher = new AnsweredPublisher(client);
    this.emitter = new Emitter<ServerToClientEvents>(this.publisher, { key: socketIoChannel(redisKeyPrefix) });
  }

  /** Resolves once Redis took the push; a publish that failed (its node gone) fails the push, which is done again. */
  emit<E extends ServerEventName>(
    rooms: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except?: string,
  ): Promise<void> {
    return broadcast(this.emitter, this.history, rooms, event, payload, except, (send) => this.publisher.answer(send));
  }

  leave(members: string, room: string): void {
    this.emitter.in(members).socketsLeave(room);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * The emitter publishes and drops the answer; this hands the publishes made during
 * `answer(send)` back, so a push counts as sent only once Redis has it.
 */
class AnsweredPublisher {
  private publishes: Promise<number>[] | null = null;

  constructor(private readonly client: Publisher) {}

  publish(channel: string, message: string): Promise<number> {
    const publish = this.client.publish(channel, message);
    if (this.publishes) this.publishes.push(publish);
    // Not awaited by the emitter (a `leave`): its failure is not a push lost.
    else publish.catch(() => undefined);
    return publish;
  }

  async answer(send: () => void): Promise<void> {
    const publishes: Promise<number>[] = (this.publishes = []);
    try {
      send();
    } catch (err) {
      // What went out before the throw is not waited for: its failure must not go unhandled either.
      for (const publish of publishes) publish.catch(() => undefined);
      throw err;
    } finally {
      this.publishes = null;
    }
    await Promise.all(publishes);
  }
}
