import type { LatLng, OfferView, OrderView, PushMeta, Role } from '@mesh/contracts';
import { metresBetween } from '@mesh/dispatch';
import { io, type Socket } from 'socket.io-client';

export interface SimulationOptions {
  baseUrl: string;
  /** Mints a token for a simulated person. */
  token: (sub: string, roles: Role[]) => Promise<string>;
  couriers: number;
  ordersPerMinute: number;
  /** The city: [south-west, north-east]. */
  bbox: [LatLng, LatLng];
  acceptProbability: number;
  /** How often a courier reports its position, ms. */
  reportEveryMs: number;
  /** Simulated couriers move this fast, m/s (bicycle speed by default). */
  speedMps: number;
  onError?: (err: unknown) => void;
}

export const DEFAULT_SIMULATION: Omit<SimulationOptions, 'baseUrl' | 'token'> = {
  couriers: 30,
  ordersPerMinute: 20,
  bbox: [
    { lat: 52.48, lng: 13.33 },
    { lat: 52.56, lng: 13.47 },
  ],
  acceptProbability: 0.85,
  reportEveryMs: 2_000,
  speedMps: 4.2,
};

type Leg = { to: LatLng; then: 'wander' | 'pickup' | 'deliver'; orderId?: string };

/** One courier: wanders between random points, and when it accepts an order rides to the pickup, then the dropoff. */
class SimulatedCourier {
  position: LatLng;
  private leg: Leg;
  private socket: Socket | undefined;
  private busy = false;

  constructor(
    readonly id: string,
    private readonly token: string,
    private readonly sim: CitySimulator,
  ) {
    this.position = sim.randomPoint();
    this.leg = { to: sim.randomPoint(), then: 'wander' };
  }

  async start(): Promise<void> {
    await this.announce();
    // Resumes from the last offset seen per room after a reconnect (API.md "Missed events").
    const offsets: Record<string, string> = {};
    this.socket = io(this.sim.options.baseUrl, {
      transports: ['websocket'],
      auth: (send) => send({ token: this.token, resume: { ...offsets } }),
    });
    this.socket.onAny((_event: string, _payload: unknown, meta?: PushMeta) => {
      if (meta && Number(meta.offset) > Number(offsets[meta.room] ?? 0)) offsets[meta.room] = meta.offset;
    });
    this.socket.on('offer.created', (offer: OfferView) => this.consider(offer));
    // What was missed could not be replayed: say again where this courier is and that it works.
    this.socket.on('recovery', ({ recovered }: { recovered: boolean }) => {
      if (!recovered && Object.keys(offsets).length > 0) void this.announce();
    });
    // The server lost live state: say again where this courier is and that it works (API.md).
    this.socket.on('courier.resync', () => void this.announce());
  }

  private async announce(): Promise<void> {
    await this.sim.call(this.token, 'PUT', '/v1/couriers/me/location', this.position);
    await this.sim.call(this.token, 'PUT', '/v1/couriers/me/availability', { available: true });
  }

  /** Accepts with the set probability after a human pause, else declines. */
  private consider(offer: OfferView): void {
    if (this.busy) return;
    const pauseMs = 800 + Math.random() * 2_500;
    setTimeout(() => {
      if (Math.random() >= this.sim.options.acceptProbability) {
        this.socket?.emit('offer.decline', { offerId: offer.offerId }, () => undefined);
        return;
      }
      this.socket?.emit('offer.accept', { offerId: offer.offerId }, (ack: { ok: boolean; order?: OrderView }) => {
        if (!ack.ok || !ack.order) return;
        this.busy = true;
        this.leg = { to: ack.order.pickup, then: 'pickup', orderId: ack.order.id };
      });
    }, pauseMs);
  }

  /** Moves one step along the current leg and reports the position. */
  async step(dtS: number): Promise<void> {
    const metres = this.sim.options.speedMps * dtS;
    const remaining = metresBetween(this.position, this.leg.to);
    if (remaining <= metres) {
      this.position = this.leg.to;
      await this.arrive();
    } else {
      const f = metres / remaining;
      this.position = {
        lat: this.position.lat + (this.leg.to.lat - this.position.lat) * f,
        lng: this.position.lng + (this.leg.to.lng - this.position.lng) * f,
      };
    }
    // Fast-forwarded runs ride faster than any real vehicle; the API accepts speeds up to 100 m/s.
    this.socket?.emit('courier.location', {
      ...this.position,
      speedMps: Math.min(100, this.sim.options.speedMps),
      at: new Date().toISOString(),
    });
  }

  private async arrive(): Promise<void> {
    const { orderId } = this.leg;
    switch (this.leg.then) {
      case 'wander':
        this.leg = { to: this.sim.randomPoint(), then: 'wander' };
        return;
      case 'pickup': {
        const res = await this.sim.call<OrderView>(this.token, 'POST', `/v1/orders/${orderId}/pickup`);
        this.leg = res.ok
          ? { to: res.body.dropoff, then: 'deliver', orderId }
          : { to: this.sim.randomPoint(), then: 'wander' };
        if (!res.ok) this.busy = false;
        return;
      }
      case 'deliver':
        await this.sim.call(this.token, 'POST', `/v1/orders/${orderId}/deliver`);
        this.busy = false;
        this.leg = { to: this.sim.randomPoint(), then: 'wander' };
        return;
    }
  }

  stop(): void {
    this.socket?.disconnect();
  }
}

/**
 * A living city on the public API: couriers moving on plausible paths (between
 * random points; to the pickup and on to the dropoff once they accept), accepting
 * or declining offers, picking up and delivering; customers ordering at a rate.
 */
export class CitySimulator {
  private readonly couriers: SimulatedCourier[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private customerTokens: string[] = [];

  constructor(readonly options: SimulationOptions) {}

  randomPoint(): LatLng {
    const [sw, ne] = this.options.bbox;
    return { lat: sw.lat + Math.random() * (ne.lat - sw.lat), lng: sw.lng + Math.random() * (ne.lng - sw.lng) };
  }

  async call<T = unknown>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ ok: boolean; body: T }> {
    try {
      const res = await fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { ok: res.ok, body: (text ? JSON.parse(text) : undefined) as T };
    } catch (err) {
      this.options.onError?.(err);
      return { ok: false, body: undefined as T };
    }
  }

  async start(): Promise<void> {
    const { couriers, ordersPerMinute, reportEveryMs } = this.options;
    for (let i = 0; i < couriers; i++) {
      const id = `sim-courier-${i + 1}`;
      const courier = new SimulatedCourier(id, await this.options.token(id, ['courier']), this);
      await courier.start();
      this.couriers.push(courier);
    }
    this.customerTokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => this.options.token(`sim-customer-${i + 1}`, ['customer'])),
    );
    this.timers.push(
      setInterval(() => {
        for (const courier of this.couriers) void courier.step(reportEveryMs / 1000).catch(this.options.onError);
      }, reportEveryMs),
    );
    if (ordersPerMinute > 0) {
      this.timers.push(setInterval(() => void this.order(), 60_000 / ordersPerMinute));
    }
  }

  private async order(): Promise<void> {
    const token = this.customerTokens[Math.floor(Math.random() * this.customerTokens.length)];
    if (!token) return;
    // Lunch is near: pickups close to a courier, dropoffs anywhere in town.
    const near = this.couriers[Math.floor(Math.random() * this.couriers.length)]?.position ?? this.randomPoint();
    const pickup = { lat: near.lat + (Math.random() - 0.5) * 0.01, lng: near.lng + (Math.random() - 0.5) * 0.01 };
    await this.call(token, 'POST', '/v1/orders', {
      pickup,
      dropoff: this.randomPoint(),
      items: [{ sku: 'lunch', qty: 1 }],
    });
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const courier of this.couriers.splice(0)) courier.stop();
  }
}
