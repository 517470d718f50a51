import { MessageType, type ClusterMessage } from 'socket.io-adapter';
import { PacketType } from 'socket.io-parser';

/** Where a sharded publish goes: a Redis, or a Redis Cluster client (it routes SPUBLISH by the channel's slot). */
export interface ShardedPublisher {
  spublish(channel: string, message: string): Promise<unknown>;
}

/** Only the default namespace carries pushes. */
const NAMESPACE = '/';
/** The sender id of messages from outside any Socket.IO server: no gateway's adapter takes them for its own. */
const EMITTER_UID = 'emitter';

/**
 * Broadcasts to the gateways from processes without a Socket.IO server (the
 * functions), through Redis sharded Pub/Sub, in the messages of Socket.IO's
 * sharded Redis adapter (`createShardedAdapter`, one channel: `static` mode).
 *
 * Sharded, because a push must not ride the Redis Cluster's bus: a classic
 * PUBLISH reaches subscribers on other nodes over the links between nodes, and
 * a node that stops answering for half the cluster's node timeout has its link
 * dropped with what was queued on it. A busy machine stalls a node that long;
 * pushes then vanish while every socket stays connected. SPUBLISH goes to the
 * master serving the channel's slot, whose subscribers the gateways are.
 * `emit` resolves once that master has the message, so a failed push is made again.
 */
export class ShardedEmitter {
  private readonly channel: string;

  /** `channelPrefix` as given to the gateways' adapter. */
  constructor(
    private readonly client: ShardedPublisher,
    channelPrefix: string,
  ) {
    this.channel = `${channelPrefix}#${NAMESPACE}#`;
  }

  to(rooms: string | readonly string[]): ShardedBroadcast {
    return new ShardedBroadcast(this, typeof rooms === 'string' ? [rooms] : [...rooms], []);
  }

  /** Makes every socket in `members` leave `room`, on whichever gateway it is. */
  socketsLeave(members: string, room: string): Promise<void> {
    return this.publish({
      uid: EMITTER_UID,
      nsp: NAMESPACE,
      type: MessageType.SOCKETS_LEAVE,
      data: { opts: { rooms: [members], except: [], flags: {} }, rooms: [room] },
    });
  }

  /** @internal */
  async publish(message: ClusterMessage): Promise<void> {
    await this.client.spublish(this.channel, JSON.stringify(message));
  }
}

/** One broadcast's audience. */
export class ShardedBroadcast {
  constructor(
    private readonly emitter: ShardedEmitter,
    private readonly rooms: readonly string[],
    private readonly excepted: readonly string[],
  ) {}

  except(rooms: string | readonly string[]): ShardedBroadcast {
    return new ShardedBroadcast(this.emitter, this.rooms, [
      ...this.excepted,
      ...(typeof rooms === 'string' ? [rooms] : rooms),
    ]);
  }

  /** Resolves once Redis has the message (the gateways deliver it as it arrives). */
  emit(event: string, ...args: unknown[]): Promise<void> {
    return this.emitter.publish({
      uid: EMITTER_UID,
      nsp: NAMESPACE,
      type: MessageType.BROADCAST,
      data: {
        opts: { rooms: [...this.rooms], except: [...this.excepted], flags: {} },
        packet: { type: PacketType.EVENT, data: [event, ...args], nsp: NAMESPACE },
      },
    });
  }
}
