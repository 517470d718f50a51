import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { socketIoChannel } from '@mesh/realtime';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { RedisClient, Subscriber } from '@mesh/redis';
import type { IncomingMessage } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';

/** Who may open a Socket.IO session before signing in. */
export interface HandshakePolicy {
  /** Browser origins besides the gateway's own (CORS_ORIGINS); clients that send no Origin (apps) are not browsers. */
  corsOrigins: readonly string[];
  /** Engine.IO sessions one address may hold open without having signed in. */
  anonymousPerIp: number;
  /** How long a session may go without signing in (Socket.IO's connectTimeout). */
  handshakeTimeoutMs: number;
}

/**
 * Socket.IO on the gateway's HTTP server. With Redis, the sharded Redis adapter
 * joins every gateway instance (and the functions' emitter) into one audience,
 * on one channel (`static`: pushes to one socket through different rooms keep
 * their order), held by one master of a Redis Cluster (see ShardedEmitter).
 * Before any token is seen, the handshake policy applies: an Origin allowlist
 * (a WebSocket upgrade is not subject to CORS, so it is checked here), a cap on
 * sessions not yet signed in per address, and a short deadline to sign in.
 */
export class MeshIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly policy: HandshakePolicy,
    private readonly redis?: { pub: RedisClient; sub: Subscriber; keyPrefix: string },
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const anonymous = new Map<string, number>();
    const server = super.createIOServer(port, {
      ...options,
      transports: ['websocket', 'polling'],
      maxHttpBufferSize: 64 * 1024,
      pingInterval: 20_000,
      pingTimeout: 20_000,
      connectTimeout: this.policy.handshakeTimeoutMs,
      cors: { origin: [...this.policy.corsOrigins], credentials: false },
      allowRequest: (req: IncomingMessage, answer: (err: string | null | undefined, success: boolean) => void) => {
        if (!originAllowed(req, this.policy.corsOrigins)) return answer('origin not allowed', false);
        const waiting = anonymous.get(req.socket.remoteAddress ?? '') ?? 0;
        if (waiting >= this.policy.anonymousPerIp) return answer('too many sessions not signed in', false);
        answer(null, true);
      },
    }) as Server;
    countAnonymousSessions(server, anonymous);
    if (this.redis) {
      const { pub, sub } = this.redis;
      server.adapter(
        createShardedAdapter(pub, sub, {
          channelPrefix: socketIoChannel(this.redis.keyPrefix),
          subscriptionMode: 'static',
        }),
      );
      // While the subscription was down, pushes to these sockets went by unheard. Closing their connections
      // makes the apps reconnect and resume from their offsets, so they get what they missed from history.
      let lost = false;
      sub.on('close', () => (lost = true));
      sub.on('ready', () => {
        if (!lost) return;
        lost = false;
        for (const socket of server.of('/').sockets.values()) socket.conn.close();
      });
    }
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    if (this.redis) await Promise.all([this.redis.pub, this.redis.sub].map((c) => c.quit().catch(() => undefined)));
  }
}

/** A browser's Origin must be the gateway's own or in the allowlist; a client without one (an app) is let through. */
function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const host = req.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/** Keeps, per address, the number of Engine.IO sessions that have not signed in (joined the namespace) yet. */
function countAnonymousSessions(server: Server, anonymous: Map<string, number>): void {
  const signIns = new WeakMap<object, () => void>();
  server.engine.on('connection', (conn: { remoteAddress: string; once(event: 'close', fn: () => void): void }) => {
    const address = conn.remoteAddress;
    anonymous.set(address, (anonymous.get(address) ?? 0) + 1);
    let counted = true;
    const settle = () => {
      if (!counted) return;
      counted = false;
      const left = (anonymous.get(address) ?? 1) - 1;
      if (left > 0) anonymous.set(address, left);
      else anonymous.delete(address);
    };
    signIns.set(conn, settle);
    conn.once('close', settle);
  });
  server.of('/').on('connection', (socket) => signIns.get(socket.conn)?.());
}
