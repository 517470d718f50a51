import type { LatLng, OrderView, PlaceOrder } from '@mesh/contracts';
import { eventually } from '@mesh/harness';
import { Actors, type Actor } from './actors';

export type { Actor } from './actors';

/** A point `northM` north and `eastM` east of `origin`. */
export function offset(origin: LatLng, northM: number, eastM = 0): LatLng {
  return {
    lat: origin.lat + northM / 111_320,
    lng: origin.lng + eastM / (111_320 * Math.cos((origin.lat * Math.PI) / 180)),
  };
}

/** A random spot on land-or-sea well away from every other test's, so their couriers never meet. */
export function somewhere(): LatLng {
  return { lat: -60 + Math.random() * 120, lng: -170 + Math.random() * 340 };
}

/** The people of a dispatch scenario, created against one running stack. */
export class DispatchWorld extends Actors {
  /** A courier who is online at `spot`, visible to dispatch (the location function has applied both). */
  async courierAt(spot: LatLng): Promise<Actor> {
    const courier = await this.actor('courier', ['courier']);
    await courier.client.couriers.setAvailability(true);
    await courier.client.couriers.reportLocation(spot);
    await eventually(
      async () =>
        expect(await courier.client.couriers.me()).toMatchObject({
          status: 'available',
          location: { lat: spot.lat, lng: spot.lng },
        }),
      { timeoutMs: 20_000 },
    );
    return courier;
  }

  /** Places the order (a placement again under the same key answers with the order as it stands now). */
  place(customer: Actor, order: PlaceOrder, options: { idempotencyKey?: string } = {}): Promise<OrderView> {
    return customer.client.orders.place(order, options);
  }

  /** A new customer's order, taken through dispatch by a new courier near it: assigned, or on to `until`. */
  async takenOrder(
    until: 'assigned' | 'picked_up' | 'delivered',
  ): Promise<{ orderId: string; customer: Actor; courier: Actor }> {
    const pickup = somewhere();
    const customer = await this.actor('customer', ['customer']);
    const courier = await this.courierAt(offset(pickup, 200));
    const order = await this.place(customer, { pickup, dropoff: offset(pickup, 1_000) });
    const offer = await courier.inbox.next('offer.created', (o) => o.orderId === order.id);
    expect(await courier.live.acceptOffer(offer.offerId)).toMatchObject({ status: 'assigned' });
    if (until !== 'assigned') await courier.client.orders.pickUp(order.id);
    if (until === 'delivered') await courier.client.orders.deliver(order.id);
    return { orderId: order.id, customer, courier };
  }

  /** Waits until the order reaches `status`, as its reader sees it through the API. */
  async orderReaches(
    reader: Actor,
    orderId: string,
    status: OrderView['status'],
    timeoutMs = 20_000,
  ): Promise<OrderView> {
    return eventually(
      async () => {
        const order = await reader.client.orders.get(orderId);
        expect(order.status).toBe(status);
        return order;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }
}
