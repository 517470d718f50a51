import type { ServerToClientEvents } from '@mesh/contracts';
import type { PushMeta } from '@mesh/contracts';
import type { ClientPush, PushHistory } from '@mesh/realtime';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { eventually, uniqueName } from '@mesh/harness';

export interface PushUnderTest {
  push: ClientPush;
  /** The room histories the push writes to. */
  history: PushHistory;
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
        void under.push.emit(room, 'courier.location', payload);
        expect(received.length).toBeGreaterThan(0);
      });
      return received;
    }

    it('delivers an event to a socket in the room, and not to one outside it', async () => {
      const inRoom = await listening();
      expect(inRoom[0]).toEqual(payload);

      const before = inRoom.length;
      const marker = { ...payload, courierId: 'marker' };
      await under.push.emit(uniqueName('other-room'), 'courier.location', { ...payload, courierId: 'elsewhere' });
      await under.push.emit(room, 'courier.location', marker);
      await eventually(() => expect(inRoom).toContainEqual(marker));
      expect(inRoom.slice(before)).not.toContainEqual(expect.objectContaining({ courierId: 'elsewhere' }));
    });

    it('makes the members of one room leave another, so they stop receiving its events', async () => {
      const received = await listening();

      under.push.leave(personal, room);
      await eventually(() => expect(server.sockets.adapter.rooms.get(room)).toBeUndefined());

      const after = received.length;
      await under.push.emit(room, 'courier.location', { ...payload, courierId: 'after-leave' });
      await under.push.emit(personal, 'courier.location', { ...payload, courierId: 'marker' });
      await eventually(() => expect(received).toContainEqual(expect.objectContaining({ courierId: 'marker' })));
      expect(received.slice(after)).not.toContainEqual(expect.objectContaining({ courierId: 'after-leave' }));
    });

    it('keeps each change in its rooms’ history and sends it once to a socket in several of them', async () => {
      await listening();
      const updates: [unknown, PushMeta][] = [];
      client.on('offer.revoked', (p, meta) => updates.push([p, meta]));
      const revoked = (n: number) => ({ offerId: `f-${n}`, orderId: 'o-1', reason: 'expired' as const });
      const elsewhere = uniqueName('elsewhere');
      await under.push.emit([elsewhere, room, personal], 'offer.revoked', revoked(1));
      await under.push.emit(personal, 'offer.revoked', revoked(2));
      await eventually(() => expect(updates).toHaveLength(2));
      // Once, filed under the push's first room (one offset in all of them).
      const [[first, m1], [second, m2]] = updates as [[unknown, PushMeta], [unknown, PushMeta]];
      expect(first).toEqual(revoked(1));
      expect(m1).toMatchObject({ room: elsewhere });
      expect(second).toEqual(revoked(2));
      expect(m2).toMatchObject({ room: personal });
      expect(Number(m2.offset)).toBeGreaterThan(Number(m1.offset));
      // Both are in the personal room's history, in order, with every room the first went to.
      const before = String(Number(m1.offset) - 1);
      const kept = (await under.history.since(personal, before))?.records;
      expect(kept?.map((r) => [r.id, r.offset, r.event, r.payload])).toEqual([
        [m1.id, m1.offset, 'offer.revoked', revoked(1)],
        [m2.id, m2.offset, 'offer.revoked', revoked(2)],
      ]);
      expect(kept?.[0]?.rooms).toEqual([elsewhere, room, personal]);
      expect(await under.history.since(personal, m2.offset)).toEqual({ records: [], complete: true });
      // Positions are not history.
      await under.push.emit(personal, 'courier.location', payload);
      expect(await under.history.since(personal, m2.offset)).toEqual({ records: [], complete: true });
    });

    it('keeps pushes made at once in call order, each in all its rooms, and delivers them in that order', async () => {
      await listening();
      const updates: [{ offerId: string }, PushMeta][] = [];
      client.on('offer.revoked', (p, meta) => updates.push([p, meta]));
      const other = uniqueName('other');
      const revoked = (n: number) => ({ offerId: `f-${n}`, orderId: 'o-1', reason: 'expired' as const });
      // Alternately to the personal room alone and to it with another, all in the same tick.
      await Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          under.push.emit(n % 2 ? [other, personal] : personal, 'offer.revoked', revoked(n)),
        ),
      );
      await eventually(() => expect(updates).toHaveLength(12));
      expect(updates.map(([p]) => p.offerId)).toEqual(Array.from({ length: 12 }, (_, n) => `f-${n}`));
      const offsets = updates.map(([, meta]) => Number(meta.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(12);
      const before = String(offsets[0]! - 1);
      expect((await under.history.since(personal, before))?.records.map((r) => r.id)).toEqual(
        updates.map(([, meta]) => meta.id).slice(-10),
      );
      expect((await under.history.since(other, before))?.records.map((r) => r.payload)).toEqual(
        Array.from({ length: 6 }, (_, i) => revoked(2 * i + 1)),
      );
    });

    it('says when it no longer holds all that followed an offset, and sends what it has; nothing for one never given out', async () => {
      expect(await under.history.since(uniqueName('never'), '0')).toBeNull();
      const offsets: string[] = [];
      const crowded = uniqueName('crowded');
      for (let i = 0; i < 15; i++) {
        const meta = await under.history.append([crowded], { id: `e${i}`, event: 'courier.resync', payload: {} });
        offsets.push(meta);
      }
      // The history keeps the newest 10 (the adapters under test are made with that limit).
      const newest10 = Array.from({ length: 10 }, (_, i) => `e${i + 5}`);
      const fromKept = await under.history.since(crowded, offsets[4]!);
      expect(fromKept?.records.map((r) => r.id)).toEqual(newest10);
      expect(fromKept?.complete).toBe(true);
      const fromTrimmed = await under.history.since(crowded, offsets[2]!);
      expect(fromTrimmed?.records.map((r) => r.id)).toEqual(newest10);
      expect(fromTrimmed?.complete).toBe(false);
      expect(await under.history.since(crowded, String(Number(offsets[14]) + 1_000))).toBeNull();
    });

    it('leaves out the sockets of an excepted room', async () => {
      const received = await listening();

      const before = received.length;
      await under.push.emit(room, 'courier.location', { ...payload, courierId: 'excepted' }, personal);
      await under.push.emit(room, 'courier.location', { ...payload, courierId: 'marker' }, uniqueName('nobody'));
      await eventually(() => expect(received).toContainEqual(expect.objectContaining({ courierId: 'marker' })));
      expect(received.slice(before)).not.toContainEqual(expect.objectContaining({ courierId: 'excepted' }));
    });
  });
}
