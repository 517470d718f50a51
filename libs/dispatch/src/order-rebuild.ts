import type { CloudEvent } from '@mesh/bus';
import {
  EVENT_DATA,
  type EventData,
  type OrderBookkeeping,
  type OrderChangeType,
  type OrderView,
} from '@mesh/contracts';
import type { RestoredOrder, StoredOffer, StoredOrder } from './dispatch-store.port';
import { DISPATCHABLE } from './order-state';

type OrderChanged = EventData<OrderChangeType>;

/**
 * The latest state of each order seen on the log, folded event by event (one
 * order's events are in order on its partition), for a rebuild to restore.
 */
export class OrderFold {
  private readonly latest = new Map<string, OrderChanged>();

  /** Takes an event off the log; anything but an order change is passed over. */
  add(event: CloudEvent): void {
    if (!event.type.startsWith('order.') || event.type === 'order.deadline_reached') return;
    const parsed = EVENT_DATA['order.created'].safeParse(event.data);
    if (!parsed.success) return;
    const seen = this.latest.get(parsed.data.order.id);
    if (seen && bookkeeping(seen).version > bookkeeping(parsed.data).version) return;
    this.latest.set(parsed.data.order.id, parsed.data);
  }

  get size(): number {
    return this.latest.size;
  }

  /** `marketOf` places orders whose events are from before markets (by their pickup). */
  restored(nowMs: number, marketOf: (order: OrderView) => string): RestoredOrder[] {
    return [...this.latest.values()].map((data) => restoredOrder(data, nowMs, marketOf));
  }
}

/**
 * An order as a change event left it: the stored order, its offer, and when
 * dispatch must look at it again (an open offer's expiry; an order waiting for
 * dispatch at once, or when its wait ends).
 */
export function restoredOrder(
  data: OrderChanged,
  nowMs: number,
  marketOf: (order: OrderView) => string,
): RestoredOrder {
  const book = bookkeeping(data);
  const order: StoredOrder = {
    ...data.order,
    offerId: book.offerId,
    excluded: book.excluded,
    version: book.version,
    emptySearches: book.emptySearches,
    retryAtMs: book.retryAtMs,
    proofUploadId: book.proofUploadId ?? null,
    market: book.market ?? marketOf(data.order),
  };
  const offer: StoredOffer | null = data.offer && book.offerStatus ? { ...data.offer, status: book.offerStatus } : null;
  const deadlineAtMs =
    order.status === 'offered' && offer?.status === 'pending'
      ? Date.parse(offer.expiresAt)
      : DISPATCHABLE.includes(order.status)
        ? (book.retryAtMs ?? nowMs)
        : null;
  return { order, offer, deadlineAtMs };
}

/** Events written before they carried dispatch's bookkeeping: what can be told from the view. */
function bookkeeping(data: OrderChanged): OrderBookkeeping {
  if (data.dispatch) return data.dispatch;
  const offered = data.order.status === 'offered' && data.offer?.orderId === data.order.id;
  return {
    version: 1,
    offerId: offered ? (data.offer?.offerId ?? null) : null,
    excluded: [],
    emptySearches: 0,
    retryAtMs: null,
    offerStatus: offered ? 'pending' : null,
  };
}
