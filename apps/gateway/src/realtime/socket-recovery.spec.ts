import type { Principal, PushMeta } from '@mesh/contracts';
import { MemoryPushHistory } from '@mesh/realtime';
import type { Socket } from 'socket.io';
import { SocketRecovery } from './socket-recovery';

/** A socket whose connection records the pushes written to it, as Socket.IO writes them (`42[event, payload, meta]`). */
function phone() {
  const written: string[] = [];
  const client = { writeToEngine: (packets: unknown) => void written.push(String(packets)) };
  const encode = (event: string, payload: unknown, meta: PushMeta) => `42${JSON.stringify([event, payload, meta])}`;
  const socket = {
    client,
    join: () => Promise.resolve(),
    emit: (event: string, payload: unknown, meta: PushMeta) => client.writeToEngine(encode(event, payload, meta)),
  };
  return {
    socket: socket as unknown as Socket,
    /** A broadcast from any gateway, arriving at this socket's connection. */
    live: (event: string, payload: unknown, meta: PushMeta) =>
      socket.client.writeToEngine(encode(event, payload, meta)),
    ids: () => written.map((packet) => (JSON.parse(packet.slice(2)) as [string, unknown, PushMeta])[2].id),
  };
}

describe('SocketRecovery', () => {
  const customer: Principal = { sub: 'c-1', roles: ['customer'], exp: 0 };
  const room = 'user:c-1';

  it('sends a push it replayed once, when its live copy arrives after the replay', async () => {
    const history = new MemoryPushHistory({ windowMs: 60_000, maxPerRoom: 10 });
    const recovery = new SocketRecovery(history, {} as never, {} as never);
    const seen = await history.position();
    const delivered = { id: 'push-delivered', event: 'order.updated' as const, payload: { status: 'delivered' } };
    // In history first, then published: the phone reconnects in between.
    const offset = await history.append([room], delivered);
    const { socket, live, ids } = phone();

    expect(await recovery.connect(socket, customer, [room], { [room]: seen })).toBe(true);
    live(delivered.event, delivered.payload, { id: delivered.id, room, offset });
    live('order.updated', { status: 'cancelled' }, { id: 'push-later', room, offset: String(Number(offset) + 1) });

    expect(ids()).toEqual(['push-delivered', 'push-later']);
  });
});
