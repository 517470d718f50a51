import type { ServerToClientEvents } from '@mesh/contracts';
import { RedisClusterProcesses, eventually, freeClusterNodePort } from '@mesh/harness';
import { RedisConnection } from '@mesh/redis';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { socketIoChannel } from './client-push.port';
import { MemoryPushHistory } from './memory-push-history';
import { RedisClientPush } from './redis-client-push';

/**
 * Past the cluster's node timeout (500 ms): the other nodes have pinged the stalled one and dropped
 * their links to it (at half the timeout without an answer), before a failover would begin.
 */
const STALL_MS = 800;
const PREFIX = 'stall:';

/**
 * A busy machine can leave a Redis node unscheduled for a moment. A push must
 * still reach a socket that stays connected throughout: pushes once went by
 * classic PUBLISH, which reaches the subscribers of other nodes over the
 * cluster's bus, and a node that did not answer for half the node timeout had
 * its link dropped with the pushes queued on it, while no connection broke.
 */
describe('Redis sharded push on a Redis Cluster whose nodes stall', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-stall-'));
  let cluster: RedisClusterProcesses;
  let redis: RedisConnection;
  let server: Server;
  let client: Socket<ServerToClientEvents>;
  let push: RedisClientPush;
  let sub: ReturnType<RedisConnection['shardedSubscriber']>;
  let adapterPub: ReturnType<RedisConnection['publisher']>;

  beforeAll(async () => {
    const ports = await Promise.all(Array.from({ length: 6 }, () => freeClusterNodePort()));
    cluster = new RedisClusterProcesses(ports, dir);
    await cluster.start();
    redis = new RedisConnection({ url: '', clusterNodes: cluster.seeds, keyPrefix: PREFIX });
    push = new RedisClientPush(redis.publisher(), PREFIX, new MemoryPushHistory({ windowMs: 60_000, maxPerRoom: 10 }));
    sub = redis.shardedSubscriber();
    const http = createServer();
    server = new Server(http);
    server.adapter(
      createShardedAdapter((adapterPub = redis.publisher()), sub, {
        channelPrefix: socketIoChannel(PREFIX),
        subscriptionMode: 'static',
      }),
    );
    server.on('connection', (socket) => void socket.join('watchers'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve) => client.once('connect', resolve));
  }, 60_000);

  afterAll(async () => {
    client?.disconnect();
    await server?.close();
    await push?.close();
    sub?.disconnect();
    adapterPub?.disconnect();
    await redis?.close();
    await cluster?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every push while each node but the channel’s master is stopped in turn', async () => {
    const received = new Set<number>();
    client.on('courier.location', (location) => received.add(location.lat));
    const emit = (n: number) =>
      push.emit('watchers', 'courier.location', { courierId: 'c', orderId: null, lat: n, lng: 0, at: '' });
    // Subscribed once a push arrives.
    await eventually(async () => {
      await emit(-1);
      expect(received.has(-1)).toBe(true);
    });

    let sent = 0;
    let pushing = true;
    const pushes = (async () => {
      while (pushing) {
        await Promise.all(Array.from({ length: 5 }, () => emit(sent++)));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const channelMaster = await cluster.masterOf(socketIoChannel(PREFIX));
    for (const port of cluster.ports.filter((p) => p !== channelMaster)) {
      const pid = cluster.node(port).pid!;
      process.kill(pid, 'SIGSTOP');
      try {
        await new Promise((resolve) => setTimeout(resolve, STALL_MS));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    pushing = false;
    await pushes;

    const missing = () => Array.from({ length: sent }, (_, n) => n).filter((n) => !received.has(n));
    await eventually(() => expect(missing()).toEqual([]), { timeoutMs: 5_000 }).catch(() => undefined);
    expect(sent).toBeGreaterThan(1_000);
    expect({ sent, missing: missing().length }).toEqual({ sent, missing: 0 });
  }, 60_000);

  it('moves the subscription to the replica that takes over when the channel’s master dies, and says so', async () => {
    // What the gateway reads as "pushes may have gone by unheard": then its sockets resume from history.
    const signals: string[] = [];
    sub.on('close', () => signals.push('lost'));
    sub.on('ready', () => signals.push('ready'));
    const received = new Set<number>();
    client.on('courier.location', (location) => received.add(location.lat));
    const channelMaster = await cluster.masterOf(socketIoChannel(PREFIX));
    await cluster.node(channelMaster).kill('SIGKILL');

    const after = 1_000_000;
    let n = after;
    await eventually(
      async () => {
        await push.emit('watchers', 'courier.location', { courierId: 'c', orderId: null, lat: ++n, lng: 0, at: '' });
        expect([...received].some((lat) => lat > after)).toBe(true);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(await cluster.masterOf(socketIoChannel(PREFIX))).not.toBe(channelMaster);
    expect(signals).toEqual(['lost', 'ready']);
  }, 60_000);
});
