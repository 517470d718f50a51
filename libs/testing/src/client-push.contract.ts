import type { ServerToClientEvents } from '@mesh/contracts';
import type { ClientPush } from '@mesh/realtime';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { eventually, uniqueName } from './eventually';

export interface PushUnderTest {
  push: ClientPush;
  /** Sets up the Socket.IO server the way a gateway on this adapter does. */
  attach(server: Server): void;
  dispose(): Promise<void>;
}

/** The behaviour every ClientPush adapter must have: what it emits reaches the sockets in the rooms. */
export function clientPushContract(adapter: string, create: () => Promise<PushUnderTest>): void {
  describe(`ClientPush contract: ${adapter}`, () => {
    let under: PushUnderTest;
    let server: Server;
    let client: Socket<ServerToClientEvents>;
    const room = uniqueName('room');
    const personal = uniqueName('personal');

    beforeEach(async () => {
      under = await create();
      const http = createServer();
      server = new Server(http);
      under.attach(server);
      server.on('connection', (socket) => {
        void socket.join([String(socket.handshake.auth.room), String(socket.handshake.auth.personal)]);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const { port } = http.address() as AddressInfo;
      client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { room, personal } });
      await new Promise<void>((resolve) => client.once('connect', resolve));
    });
    afterEach(async () => {
      client.disconnect();
      await server.close();
      await under.dispose();
    });

    const payload = { courierId: 'c-1', orderId: null, lat: 1, lng: 2, at: new Date().toISOString() };
    /**
     * What the client receives, once a first emit to the room has arrived (the
     * Redis adapter subscribes asynchronously, so it emits until one copy lands).
     */
    async function listening(): Promise<unknown[]> {
      const received: unknown[] = [];
      client.on('courier.location', (p) => received.push(p));
      await eventually(() => {
        under.push.emit(room, 'courier.location', payload);
        expect(received.length).toBeGreaterThan(0);
      });
      return received;
    }

    it('delivers an event to a socket in the room, and not to one outside it', async () => {
      const inRoom = await listening();
      expect(inRoom[0]).toEqual(payload);

      const before = inRoom.length;
      const marker = { ...payload, courierId: 'marker' };
      under.push.emit(uniqueName('other-room'), 'courier.location', { ...payload, courierId: 'elsewhere' });
      under.push.emit(room, 'courier.location', marker);
      await eventually(() => expect(inRoom).toContainEqual(marker));
      expect(inRoom.slice(before)).not.toContainEqual(expect.objectContaining({ courierId: 'elsewhere' }));
    });

    it('makes the members of one room leave another, so they stop receiving its events', async () => {
      const received = await listening();

      under.push.leave(personal, room);
      await eventually(() => expect(server.sockets.adapter.rooms.get(room)).toBeUndefined());

      const after = received.length;
      under.push.emit(room, 'courier.location', { ...payload, courierId: 'after-leave' });
      under.push.emit(personal, 'courier.location', { ...payload, courierId: 'marker' });
      await eventually(() => expect(received).toContainEqual(expect.objectContaining({ courierId: 'marker' })));
      expect(received.slice(after)).not.toContainEqual(expect.objectContaining({ courierId: 'after-leave' }));
    });

    it('leaves out the sockets of an excepted room', async () => {
      const received = await listening();

      const before = received.length;
      under.push.emit(room, 'courier.location', { ...payload, courierId: 'excepted' }, personal);
      under.push.emit(room, 'courier.location', { ...payload, courierId: 'marker' }, uniqueName('nobody'));
      await eventually(() => expect(received).toContainEqual(expect.objectContaining({ courierId: 'marker' })));
      expect(received.slice(before)).not.toContainEqual(expect.objectContaining({ courierId: 'excepted' }));
    });
  });
}
