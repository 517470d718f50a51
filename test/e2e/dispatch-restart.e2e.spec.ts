import { startStack, type RunningStack } from '@mesh/harness';
import { DispatchWorld, offset, somewhere } from './support/dispatch-world';

/**
 * Offer deadlines live in Redis, not in a function's timers: kill the functions
 * process while offers are open and every one of them is still answered or
 * expires, and dispatch carries on, once a new process is up.
 */
describe('dispatch across a functions crash (real Kafka and Redis)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;

  beforeAll(async () => {
    stack = await startStack({ OFFER_TTL_S: '3' });
    world = new DispatchWorld(stack);
  });
  afterAll(async () => {
    world?.close();
    await stack?.stop();
  });

  it('expires or settles every offer that was open when the functions process was SIGKILLed', async () => {
    const [here, there] = [somewhere(), somewhere()];
    const [customer, dispatcher] = await Promise.all([
      world.actor('customer', ['customer']),
      world.actor('dispatcher', ['dispatcher']),
    ]);
    const silent = await world.courierAt(offset(here, 100));
    const backup = await world.courierAt(offset(here, 800));
    const answering = await world.courierAt(offset(there, 300));
    const lapsing = await world.place(customer, { pickup: here, dropoff: offset(here, 1_000) });
    const answered = await world.place(customer, { pickup: there, dropoff: offset(there, 1_000) });
    const lapsingOffer = await silent.inbox.next('offer.created', (o) => o.orderId === lapsing.id);
    const answeredOffer = await answering.inbox.next('offer.created', (o) => o.orderId === answered.id);

    await stack.restartFunctions('SIGKILL', async () => {
      // Answered while no function runs at all: the gateway settles it on its own.
      expect(await answering.client.offers.accept(answeredOffer.offerId)).toMatchObject({
        status: 'assigned',
        courierId: answering.id,
      });
    });

    // Nobody answers the other; its deadline, kept in Redis, fires in the new process and the
    // order goes to the next courier, who accepts at once, as an app does (the offer lives 3 s).
    const next = await backup.inbox.next('offer.created', (o) => o.orderId === lapsing.id, 30_000);
    expect(await backup.client.offers.accept(next.offerId)).toMatchObject({ status: 'assigned' });
    // The silent courier is told its offer expired (through Kafka, once the group has its new member).
    const revoked = await silent.inbox.next('offer.revoked', (r) => r.offerId === lapsingOffer.offerId, 30_000);
    expect(revoked.reason).toBe('expired');

    await world.orderReaches(dispatcher, lapsing.id, 'assigned');
    await world.orderReaches(dispatcher, answered.id, 'assigned');
    await customer.inbox.next('order.updated', (o) => o.id === answered.id && o.status === 'assigned', 30_000);
  });
});
