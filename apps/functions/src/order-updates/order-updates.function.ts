import { Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { rooms, type OrderChangeType, type OrderView } from '@mesh/contracts';
import { ProofLinks } from '@mesh/media';
import { ClientPush } from '@mesh/realtime';
import { Metrics } from '@mesh/telemetry';
import type { MeshFunction } from '../host/mesh-function';

const ORDER_CHANGES = [
  'order.created',
  'order.offered',
  'order.offer_declined',
  'order.offer_expired',
  'order.assigned',
  'order.picked_up',
  'order.delivered',
  'order.cancelled',
  'order.unassigned',
  'order.redispatched',
  'order.proof_uploaded',
  'order.proof_processed',
] as const satisfies readonly OrderChangeType[];

/** Everyone an order's changes concern: its watchers, customer, merchant, courier and the dispatchers. */
export function orderAudience(order: OrderView, alsoCourierId?: string): string[] {
  const audience = [rooms.order(order.id), rooms.user(order.customerId), rooms.dispatchers];
  if (order.merchantId) audience.push(rooms.merchant(order.merchantId));
  if (order.courierId) audience.push(rooms.courier(order.courierId));
  if (alsoCourierId && alsoCourierId !== order.courierId) audience.push(rooms.courier(alsoCourierId));
  return audience;
}

/**
 * Tells the people concerned about every order change, through the Socket.IO
 * emitter: `order.updated` to the order's audience, revoked offers to their courier.
 * Also counts the dispatch outcomes the changes stand for.
 */
@Injectable()
export class OrderUpdatesFunction implements MeshFunction<(typeof ORDER_CHANGES)[number]> {
  readonly name = 'order-updates';
  readonly topic = 'orders';
  readonly accepts = ORDER_CHANGES;
  // A status on a customer's screen 50 ms later is not later to them (the offer goes from dispatch, not from
  // here); at a calm 20 orders a second it takes its events in half as many fetches as at 20 ms.
  readonly fetchIntervalMs = 50;

  constructor(
    private readonly push: ClientPush,
    private readonly metrics: Metrics,
    private readonly proofLinks: ProofLinks,
  ) {}

  async handle(event: MeshEvent<(typeof ORDER_CHANGES)[number]>): Promise<void> {
    const { order, offer } = event.data;
    const orderRoom = rooms.order(order.id);
    switch (event.type) {
      case 'order.offered':
        // The dispatch function sent the offer itself, the moment it was made.
        this.metrics.offers.inc({ outcome: 'created' });
        break;
      case 'order.offer_expired':
      case 'order.offer_declined':
      case 'order.cancelled':
        if (offer) {
          const outcome =
            event.type === 'order.offer_expired'
              ? 'expired'
              : event.type === 'order.cancelled'
                ? 'revoked'
                : 'declined';
          if (outcome !== 'declined') {
            await this.push.emit(rooms.courier(offer.courierId), 'offer.revoked', {
              offerId: offer.offerId,
              orderId: order.id,
              reason: outcome === 'expired' ? 'expired' : 'cancelled',
            });
          }
          // The courier saw the order only through the offer; it stops watching it.
          this.push.leave(rooms.courier(offer.courierId), orderRoom);
          this.metrics.offers.inc({ outcome });
        }
        break;
      case 'order.assigned':
        this.metrics.offers.inc({ outcome: 'accepted' });
        this.metrics.dispatchAttempts.observe({ result: 'assigned' }, order.attempts);
        break;
      case 'order.unassigned':
        this.metrics.ordersUnassigned.inc();
        this.metrics.dispatchAttempts.observe({ result: 'unassigned' }, order.attempts);
        break;
      case 'order.created':
      case 'order.picked_up':
      case 'order.delivered':
      case 'order.redispatched':
      case 'order.proof_uploaded':
      case 'order.proof_processed':
        break;
    }
    const offeredTo = event.type === 'order.offered' ? offer?.courierId : undefined;
    // Awaited: a push that could not be kept in history (Redis away) fails the event, which comes again.
    // Everyone in the audience may see the order, so they get its photo's signed URLs too.
    const proof = this.proofLinks.view(order.id, event.data.dispatch?.proofUploadId, order.proof);
    await this.push.emit(orderAudience(order, offeredTo), 'order.updated', { ...order, proof });
  }
}
