import type { OfferView } from '@mesh/contracts';
import { eventually, startStack, type RunningStack } from '@mesh/harness';
import { DispatchWorld, offset, somewhere, type Actor } from './support/dispatch-world';

const COURIERS = 60;
const ORDERS = 100;

/**
 * The lunch rush in miniature: 100 orders placed at once against 60 available
 * couriers who accept whatever they are offered. Dispatch must never double-book.
 */
describe('dispatch under concurrency (real Kafka and Redis)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;

  beforeAll(async () => {
    stack = await startStack();
    world = new DispatchWorld(stack);
  });
  afterAll(async () => {
    world?.close();
    await stack?.stop();
  });

  it('assigns 60 orders to 60 different couriers, gives up the other 40, and never offers a courier two orders', async () => {
    const pickup = somewhere();
    const couriers: Actor[] = await Promise.all(
      Array.from({ length: COURIERS }, (_, i) => world.courierAt(offset(pickup, 50 + (i % 12) * 70, (i % 5) * 90))),
    );
    const accepted = new Map<string, OfferView>();
    for (const courier of couriers) {
      courier.live.on('offer.created', (offer) => {
        courier.live.acceptOffer(offer.offerId).then(
          () => accepted.set(courier.id, offer),
          // A refused accept (the offer lapsed first) leaves the courier without an order, as the checks below expect.
          () => undefined,
        );
      });
    }
    const [dispatcher, ...customers] = await Promise.all([
      world.actor('dispatcher', ['dispatcher']),
      ...Array.from({ length: 10 }, () => world.actor('customer', ['customer'])),
    ]);

    const placed = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        world.place(customers[i % customers.length]!, { pickup, dropoff: offset(pickup, -500 - i * 10) }),
      ),
    );
    expect(new Set(placed.map((o) => o.id)).size).toBe(ORDERS);

    const settled = await eventually(
      async () => {
        const orders = await Promise.all(placed.map((o) => dispatcher.client.orders.get(o.id)));
        const open = orders.filter((o) => o.status !== 'assigned' && o.status !== 'unassigned');
        expect(open.map((o) => `${o.id}:${o.status}`)).toEqual([]);
        return orders;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    const assigned = settled.filter((o) => o.status === 'assigned');
    expect(assigned).toHaveLength(COURIERS);
    expect(settled.filter((o) => o.status === 'unassigned')).toHaveLength(ORDERS - COURIERS);
    // No order assigned twice, no courier holding two orders.
    expect(new Set(assigned.map((o) => o.courierId)).size).toBe(COURIERS);
    for (const order of settled) {
      expect(order.timeline.filter((t) => t.status === 'assigned').length).toBe(order.status === 'assigned' ? 1 : 0);
    }
    // Each courier was offered exactly one order (so never two at once), and holds the one it accepted.
    for (const courier of couriers) {
      expect(courier.inbox.all('offer.created')).toHaveLength(1);
      const mine = assigned.find((o) => o.courierId === courier.id);
      expect(mine?.id).toBe(accepted.get(courier.id)?.orderId);
    }
  });
});
