import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { socketIoChannel } from '@mesh/realtime';
import { createAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';

/**
 * Socket.IO on the gateway's HTTP server. With Redis, the Redis adapter joins
 * every gateway instance (and the functions' emitter) into one audience.
 */
export class MeshIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly redis?: { pub: Redis; sub: Redis; keyPrefix: string },
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...options,
      transports: ['websocket', 'polling'],
      maxHttpBufferSize: 64 * 1024,
      pingInterval: 20_000,
      pingTimeout: 20_000,
    }) as Server;
    if (this.redis) {
      server.adapter(createAdapter(this.redis.pub, this.redis.sub, { key: socketIoChannel(this.redis.keyPrefix) }));
      // While the subscription was down, pushes to these sockets went by unheard. Closing their connections
      // makes the apps reconnect and resume from their offsets, so they get what they missed from history.
      let lost = false;
      this.redis.sub.on('close', () => (lost = true));
      this.redis.sub.on('ready', () => {
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
