import type { OrderListFilter, StoredOffer, StoredOrder } from '@mesh/dispatch';
import type { Principal } from '@mesh/contracts';

/**
 * Who may see an order: its customer, its merchant, its assigned courier or the
 * courier it is offered to right now, and any dispatcher. Everyone else is told
 * it does not exist.
 */
export function maySeeOrder(who: Principal, order: StoredOrder, liveOffer: StoredOffer | null): boolean {
  const has = (role: Principal['roles'][number]) => who.roles.includes(role);
  if (has('dispatcher')) return true;
  if (has('customer') && order.customerId === who.sub) return true;
  if (has('merchant') && order.merchantId === who.sub) return true;
  if (has('courier')) {
    if (order.courierId === who.sub) return true;
    if (liveOffer && liveOffer.offerId === order.offerId && liveOffer.courierId === who.sub) return true;
  }
  return false;
}

/**
 * Whose orders a listing shows. A token with several roles lists by the widest:
 * dispatcher (all), then customer, merchant, courier.
 */
export function listingOwner(who: Principal): OrderListFilter['owner'] | null {
  if (who.roles.includes('dispatcher')) return { kind: 'all' };
  if (who.roles.includes('customer')) return { kind: 'customer', id: who.sub };
  if (who.roles.includes('merchant')) return { kind: 'merchant', id: who.sub };
  if (who.roles.includes('courier')) return { kind: 'courier', id: who.sub };
  return null;
}
