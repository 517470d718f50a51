import { Injectable } from '@nestjs/common';
import { EventBus, newEvent, type MeshEvent, type PublishOptions } from '@mesh/bus';
import { TOPIC_OF_EVENT, type OrderChangeType } from '@mesh/contracts';
import { problems } from '@mesh/problem';
import {
  DispatchStore,
  offerRecord,
  orderView,
  type DispatchChange,
  type StoredOffer,
  type StoredOrder,
} from './dispatch-store.port';

/** Attempts at a change whose state moved underneath it, before the caller is told of the conflict. */
const COMMIT_ATTEMPTS = 8;

/**
 * Reads fresh state, builds a change and commits it; when something moved in
 * between (another dispatcher, the courier, the sweeper), reads again and
 * rebuilds. `build` throws the 404/409 problems the fresh state calls for.
 */
export async function commitFresh<C extends DispatchChange>(
  store: DispatchStore,
  build: () => Promise<C>,
): Promise<{ order: StoredOrder; change: C }> {
  for (let attempt = 1; attempt <= COMMIT_ATTEMPTS; attempt++) {
    const change = await build();
    const order = await store.commit(change);
    if (order) return { order, change };
  }
  throw problems.conflict('The order kept changing while this was applied; try again.');
}

/** Thrown through commitFresh to leave its loop without a commit. */
class Unchanged extends Error {
  constructor(readonly order: StoredOrder) {
    super('unchanged');
  }
}

/**
 * As commitFresh, for changes that may turn out to be needed no more: `build`
 * answers `{ unchanged: order }` then, and that order is answered uncommitted.
 */
export async function commitUnlessUnchanged<C extends DispatchChange>(
  store: DispatchStore,
  build: () => Promise<C | { unchanged: StoredOrder }>,
): Promise<{ order: StoredOrder; change: C | null }> {
  try {
    return await commitFresh(store, async () => {
      const built = await build();
      if ('unchanged' in built) throw new Unchanged(built.unchanged);
      return built;
    });
  } catch (err) {
    if (err instanceof Unchanged) return { order: err.order, change: null };
    throw err;
  }
}

/** The event of an order change, keyed by the order so its changes stay in order on Kafka. */
export function orderChangedEvent(
  type: OrderChangeType,
  order: StoredOrder,
  offer: StoredOffer | null,
  source: string,
): MeshEvent<OrderChangeType> {
  const dispatch = {
    version: order.version,
    offerId: order.offerId,
    excluded: order.excluded,
    emptySearches: order.emptySearches ?? 0,
    retryAtMs: order.retryAtMs ?? null,
    offerStatus: offer?.status ?? null,
    proofUploadId: order.proofUploadId ?? null,
    market: order.market,
  };
  return newEvent(
    type,
    { order: orderView(order), offer: offer ? offerRecord(offer) : null, dispatch },
    { source, key: order.id, subject: order.id },
  );
}

/** The change with the event that announces it, to be committed together (the outbox). */
export function announced<C extends DispatchChange>(change: C, type: OrderChangeType, source: string): C {
  // The version the order will have once this change commits (it commits only on top of `before`).
  const committed = { ...change.order.after, version: (change.order.before?.version ?? 0) + 1 };
  return { ...change, event: orderChangedEvent(type, committed, change.offer?.after ?? null, source) };
}

/** Puts order events on the bus that no committed change carries: a new order (before it is stored) and deadlines. */
@Injectable()
export class OrderEventPublisher {
  constructor(private readonly bus: EventBus) {}

  async publish(
    type: OrderChangeType,
    order: StoredOrder,
    offer: StoredOffer | null,
    source: string,
    options?: PublishOptions,
  ): Promise<void> {
    await this.bus.publish(TOPIC_OF_EVENT[type], orderChangedEvent(type, order, offer, source), options);
  }

  async publishDeadline(orderId: string, source: string): Promise<void> {
    const event = newEvent('order.deadline_reached', { orderId }, { source, key: orderId, subject: orderId });
    await this.bus.publish(TOPIC_OF_EVENT[event.type], event);
  }
}
