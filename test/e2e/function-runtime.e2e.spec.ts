import { KafkaEventBus, newEvent, type DeadLetter, type Subscription } from '@mesh/bus';
import { ForbiddenError } from '@mesh/client';
import { DEFAULT_MARKET } from '@mesh/config';
import { FUNCTION_CATALOG, type OrderView } from '@mesh/contracts';
import { newOrder, orderChangedEvent } from '@mesh/dispatch';
import { eventually, metricValue, silentLogger, startStack, uniqueName, type RunningStack } from '@mesh/harness';
import { DispatchWorld, offset, somewhere, type Actor } from './support/dispatch-world';

/**
 * The function runtime on the real Kafka: dead letters, idempotency by event id,
 * and workers stopped (SIGTERM) or killed (SIGKILL) in the middle of a burst.
 */
describe('function runtime (real Kafka and Redis)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;
  let bus: KafkaEventBus;
  const subscriptions: Subscription[] = [];

  beforeAll(async () => {
    stack = await startStack();
    world = new DispatchWorld(stack);
    bus = new KafkaEventBus({
      brokers: String(stack.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: 'runtime-test',
      topicPrefix: String(stack.env.KAFKA_TOPIC_PREFIX),
      logger: silentLogger,
    });
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    await bus?.close();
    world?.close();
    await stack?.stop();
  });

  const functionMetric = async (name: string, labels: Record<string, string>) =>
    metricValue(await (await fetch(`${stack.functionsUrl}/metrics`)).text(), name, labels);

  /** Orders placed by `customer` with nobody in reach: each ends `unassigned`. */
  async function burst(customer: Actor, count: number): Promise<OrderView[]> {
    const pickup = somewhere();
    return Promise.all(
      Array.from({ length: count }, (_, i) => world.place(customer, { pickup, dropoff: offset(pickup, 100 + i) })),
    );
  }

  /**
   * Every order ended unassigned exactly once. Its customer was told of each status
   * exactly once, or (`atLeastOnce`, after a SIGKILL may redo an in-flight push) at least once.
   */
  async function expectEachHandledOnce(customer: Actor, orders: OrderView[], atLeastOnce = false): Promise<void> {
    const dispatcher = await world.actor('dispatcher', ['dispatcher']);
    for (const order of orders) {
      const final = await world.orderReaches(dispatcher, order.id, 'unassigned', 30_000);
      expect(final.timeline.map((t) => t.status)).toEqual(['pending', 'dispatching', 'unassigned']);
    }
    await eventually(
      () => {
        for (const order of orders) {
          const statuses = customer.inbox
            .all('order.updated')
            .filter((o) => o.id === order.id)
            .map((o) => o.status);
          if (atLeastOnce) expect(statuses).toEqual(expect.arrayContaining(['pending', 'unassigned']));
          else expect(statuses.sort()).toEqual(['pending', 'unassigned']);
        }
      },
      { timeoutMs: 30_000 },
    );
  }

  it('dead-letters an event that breaks its contract, with the error, and goes on with the next ones', async () => {
    const letters: DeadLetter[] = [];
    subscriptions.push(
      await bus.subscribeDeadLetters({
        group: uniqueName('dlq'),
        topic: 'orders',
        handle: (letter) => {
          letters.push(letter);
          return Promise.resolve();
        },
      }),
    );
    const poisonKey = uniqueName('poison');
    const poison = {
      ...newEvent('order.deadline_reached', { orderId: poisonKey }, { source: '/test', key: poisonKey }),
    };
    await bus.publish('orders', { ...poison, data: { orderId: 42 } });

    await eventually(() => expect(letters.map((l) => l.headers.ce_id)).toContain(poison.id), { timeoutMs: 30_000 });
    const letter = letters.find((l) => l.headers.ce_id === poison.id)!;
    expect(letter).toMatchObject({ group: 'mesh.fn.dispatch', attempts: 1, key: poisonKey });
    expect(letter.error).toContain('orderId');
    expect(JSON.parse(letter.value!)).toEqual({ orderId: 42 });

    // The function goes on: a real order behind it is dispatched.
    const pickup = somewhere();
    const courier = await world.courierAt(offset(pickup, 100));
    const customer = await world.actor('customer', ['customer']);
    const order = await world.place(customer, { pickup, dropoff: offset(pickup, 500) });
    await courier.inbox.next('offer.created', (o) => o.orderId === order.id);

    const dispatcher = await world.actor('dispatcher', ['dispatcher']);
    const activations = await dispatcher.client.admin.activations({
      function: 'dispatch',
      outcome: 'dead-lettered',
      limit: 50,
    });
    expect(activations.items.find((a) => a.eventId === poison.id)).toMatchObject({ outcome: 'dead-lettered' });
    await expect(customer.client.admin.activations()).rejects.toBeInstanceOf(ForbiddenError);

    const functions = await dispatcher.client.admin.functions();
    expect(functions.items.map((f) => f.function)).toEqual(FUNCTION_CATALOG.map((f) => f.name));
    expect(functions.items.find((f) => f.function === 'dispatch')).toMatchObject({ replicas: 1 });
    expect(functions.items.find((f) => f.function === 'dispatch')!.deadLetteredLast5Min).toBeGreaterThanOrEqual(1);
  });

  it('gives an event delivered twice a single effect', async () => {
    const customer = await world.actor('customer', ['customer']);
    const pickup = somewhere();
    const { order } = newOrder({
      id: uniqueName('o').toUpperCase(),
      customerId: customer.id,
      place: { pickup, dropoff: offset(pickup, 300) },
      market: DEFAULT_MARKET,
      now: new Date(),
    });
    const event = orderChangedEvent('order.created', { ...order.after, version: 1 }, null, '/test');
    const before = await functionMetric('mesh_function_invocations_total', { outcome: 'duplicate' });

    await bus.publish('orders', event);
    await bus.publish('orders', event);

    // Both functions on the topic see the copy and skip it.
    await eventually(
      async () =>
        expect(
          await functionMetric('mesh_function_invocations_total', { outcome: 'duplicate' }),
        ).toBeGreaterThanOrEqual(before + 2),
      { timeoutMs: 30_000 },
    );
    await expectEachHandledOnce(customer, [order.after]);
  });

  it('loses nothing and does nothing twice when the worker is stopped (SIGTERM) during a burst', async () => {
    const customer = await world.actor('customer', ['customer']);
    const first = burst(customer, 40);
    await stack.restartFunctions('SIGTERM', async () => {
      await burst(customer, 20);
    });
    const orders = [...(await first), ...(await burst(customer, 20))];
    await expectEachHandledOnce(customer, orders);
  });

  it('loses nothing and changes no order twice when the worker is killed (SIGKILL) during a burst', async () => {
    const customer = await world.actor('customer', ['customer']);
    const first = burst(customer, 40);
    await stack.restartFunctions('SIGKILL', async () => {
      await burst(customer, 20);
    });
    const orders = [...(await first), ...(await burst(customer, 20))];
    await expectEachHandledOnce(customer, orders, true);
  });
});
