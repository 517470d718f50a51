import type { CourierView, LatLng, OrderView, PlaceOrder, Role } from '@mesh/contracts';
import {
  SocketInbox,
  callApi,
  connectSocket,
  eventually,
  uniqueName,
  type ApiResponse,
  type RunningStack,
} from '@mesh/testing';
import type { Socket } from 'socket.io-client';

/** One person using the product: a token, the REST API, and a live socket with everything pushed to it. */
export interface Actor {
  readonly id: string;
  readonly token: string;
  readonly inbox: SocketInbox;
  readonly socket: Socket;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
}

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
export class DispatchWorld {
  private readonly sockets: Socket[] = [];

  constructor(private readonly stack: RunningStack) {}

  async actor(prefix: string, roles: Role[]): Promise<Actor> {
    const id = uniqueName(prefix);
    const token = await this.stack.token(id, roles);
    const socket = await connectSocket(this.stack.baseUrl, token);
    this.sockets.push(socket);
    const baseUrl = this.stack.baseUrl;
    return {
      id,
      token,
      socket,
      inbox: new SocketInbox(socket),
      api: (method, path, body, headers) => callApi(baseUrl, token, method, path, body, headers),
    };
  }

  /** A courier who is online at `spot`, visible to dispatch (the location function has applied both). */
  async courierAt(spot: LatLng): Promise<Actor> {
    const courier = await this.actor('courier', ['courier']);
    expect((await courier.api('PUT', '/v1/couriers/me/availability', { available: true })).status).toBe(200);
    expect((await courier.api('PUT', '/v1/couriers/me/location', spot)).status).toBe(204);
    await eventually(
      async () => {
        const me = await courier.api<CourierView>('GET', '/v1/couriers/me');
        expect(me.body).toMatchObject({ status: 'available', location: { lat: spot.lat, lng: spot.lng } });
      },
      { timeoutMs: 20_000 },
    );
    return courier;
  }

  async place(customer: Actor, order: PlaceOrder, headers: Record<string, string> = {}): Promise<OrderView> {
    const res = await customer.api<OrderView>('POST', '/v1/orders', order, headers);
    expect(res.status).toBe(202);
    return res.body;
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
        const res = await reader.api<OrderView>('GET', `/v1/orders/${orderId}`);
        expect(res.body.status).toBe(status);
        return res.body;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  close(): void {
    for (const socket of this.sockets.splice(0)) socket.disconnect();
  }
}
