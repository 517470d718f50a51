import Redis, { type Cluster } from 'ioredis';
import { EventEmitter } from 'node:events';

/** How often the subscriber checks that its node still serves the slot (a failover, a slot moved). */
const CHECK_EVERY_MS = 1_000;
/** How long it waits before subscribing again after losing its node. */
const RETRY_MS = 200;

/**
 * A sharded Pub/Sub subscriber on a Redis Cluster for channels that share one
 * hash slot (a hash tag), on the master serving that slot. When that master
 * goes, or stops serving the slot, it subscribes again on the one that does.
 *
 * Events as an ioredis client's: `smessageBuffer` (channel, message); `close`
 * when the subscription went (messages may have gone by unheard); `ready` once
 * subscribed again. (ioredis's own cluster sharded subscribers kept dialling the
 * dead master after a failover and never subscribed on its replica.)
 */
export class SlotSubscriber extends EventEmitter {
  private readonly channels = new Set<string>();
  private connection: Redis | undefined;
  private node: string | undefined;
  private slot: number | undefined;
  private connecting: Promise<void> | undefined;
  private lost = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly cluster: Cluster) {
    super();
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  async ssubscribe(...channels: string[]): Promise<void> {
    for (const channel of channels) this.channels.add(channel);
    const slot = await this.slotOf(channels[0]!);
    if (this.connection?.status !== 'ready') await this.connect(slot);
    // Also when a connect begun by an earlier call subscribed before these were added (again is harmless).
    await this.connection?.ssubscribe(...channels);
  }

  async sunsubscribe(...channels: string[]): Promise<void> {
    for (const channel of channels) this.channels.delete(channel);
    if (this.connection?.status === 'ready') await this.connection.sunsubscribe(...channels);
  }

  quit(): Promise<void> {
    this.disconnect();
    return Promise.resolve();
  }

  disconnect(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.connection?.disconnect();
    this.connection = undefined;
  }

  private async slotOf(channel: string): Promise<number> {
    const slot = Number(await this.cluster.cluster('KEYSLOT', channel));
    if (this.slot !== undefined && slot !== this.slot) {
      throw new Error(`sharded channels of one subscriber must share a slot (hash tag): ${channel}`);
    }
    this.slot = slot;
    return slot;
  }

  /** Subscribes on the slot's master; once at a time. */
  private connect(slot: number): Promise<void> {
    this.connecting ??= this.subscribeOnOwner(slot).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async subscribeOnOwner(slot: number): Promise<void> {
    while (!this.closed) {
      let connection: Redis | undefined;
      try {
        const [host, port] = await this.owner(slot);
        connection = new Redis({
          host,
          port,
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
        });
        connection.on('error', () => undefined);
        connection.on('smessageBuffer', (channel: Buffer, message: Buffer) =>
          this.emit('smessageBuffer', channel, message),
        );
        await connection.connect();
        await connection.ssubscribe(...this.channels);
        if (this.closed) {
          connection.disconnect();
          return;
        }
        const subscribed = connection;
        connection.once('end', () => this.dropped(subscribed));
        [this.connection, this.node] = [connection, `${host}:${port}`];
        if (this.lost) {
          this.lost = false;
          this.emit('ready');
        }
        return;
      } catch {
        // A node that went, or no longer serves the slot (MOVED): its connection is let go, the owner asked again.
        connection?.disconnect();
        this.markLost();
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private dropped(connection: Redis): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.markLost();
    if (!this.closed && this.slot !== undefined) void this.connect(this.slot);
  }

  private markLost(): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.emit('close');
  }

  /** The master serving `slot`, as the cluster says now. */
  private async owner(slot: number): Promise<[string, number]> {
    const ranges = await this.cluster.cluster('SLOTS');
    const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (!master) throw new Error(`no node serves slot ${slot}`);
    return [master[0], master[1]];
  }

  /** Lets go of a node that no longer serves the slot (the subscription moves, counted as lost). */
  private async check(): Promise<void> {
    if (this.closed || !this.connection || this.slot === undefined) return;
    try {
      const [host, port] = await this.owner(this.slot);
      if (`${host}:${port}` !== this.node) this.connection.disconnect();
    } catch {
      // The cluster cannot be asked now; the next check asks again.
    }
  }
}
