import { MeshClient, type MeshLive } from '@mesh/client';
import type { LatLng, OfferView, Role } from '@mesh/contracts';
import { metresBetween } from '@mesh/dispatch';

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
  private readonly api: MeshClient;
  private live: MeshLive | undefined;
  private busy = false;

  constructor(
    readonly id: string,
    token: string,
    private readonly sim: CitySimulator,
  ) {
    this.position = sim.randomPoint();
    this.leg = { to: sim.randomPoint(), then: 'wander' };
    this.api = new MeshClient({ baseUrl: sim.options.baseUrl, token });
  }

  async start(): Promise<void> {
    await this.announce();
    // The client resumes from the last offset it saw per room after a reconnect (API.md "Missed events").
    this.live = this.api.live({ transports: ['websocket'] });
    this.live.on('offer.created', (offer) => this.consider(offer));
    // What was missed could not be replayed: say again where this courier is and that it works.
    let connected = false;
    this.live.onRecovery((recovered) => {
      if (!recovered && connected) this.sim.attempt(this.announce());
      connected = true;
    });
    // The server lost live state: say again where this courier is and that it works (API.md).
    this.live.on('courier.resync', () => this.sim.attempt(this.announce()));
    await this.live.connect();
  }

  private async announce(): Promise<void> {
    await this.api.couriers.reportLocation(this.position);
    await this.api.couriers.setAvailability(true);
  }

  /** Accepts with the set probability after a human pause, else declines. */
  private consider(offer: OfferView): void {
    if (this.busy) return;
    const pauseMs = 800 + Math.random() * 2_500;
    setTimeout(() => {
      const live = this.live;
      if (!live) return;
      if (Math.random() >= this.sim.options.acceptProbability) {
        this.sim.attempt(live.declineOffer(offer.offerId));
        return;
      }
      this.sim.attempt(
        live.acceptOffer(offer.offerId).then((order) => {
          this.busy = true;
          this.leg = { to: order.pickup, then: 'pickup', orderId: order.id };
        }),
      );
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
    await this.live?.reportLocation({
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
        try {
          const order = await this.api.orders.pickUp(orderId as string);
          this.leg = { to: order.dropoff, then: 'deliver', orderId };
        } catch (err) {
          // Cancelled meanwhile, say: back to wandering.
          this.busy = false;
          this.leg = { to: this.sim.randomPoint(), then: 'wander' };
          throw err;
        }
        return;
      }
      case 'deliver':
        this.busy = false;
        this.leg = { to: this.sim.randomPoint(), then: 'wander' };
        await this.api.orders.deliver(orderId as string);
        return;
    }
  }

  stop(): void {
    this.live?.close();
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
  private customers: MeshClient[] = [];

  constructor(readonly options: SimulationOptions) {}

  randomPoint(): LatLng {
    const [sw, ne] = this.options.bbox;
    return { lat: sw.lat + Math.random() * (ne.lat - sw.lat), lng: sw.lng + Math.random() * (ne.lng - sw.lng) };
  }

  /** Lets a courier's or customer's action run, reporting its failure rather than throwing it. */
  attempt(action: Promise<unknown>): void {
    action.catch((err: unknown) => this.options.onError?.(err));
  }

  async start(): Promise<void> {
    const { couriers, ordersPerMinute, reportEveryMs } = this.options;
    for (let i = 0; i < couriers; i++) {
      const id = `sim-courier-${i + 1}`;
      const courier = new SimulatedCourier(id, await this.options.token(id, ['courier']), this);
      await courier.start();
      this.couriers.push(courier);
    }
    this.customers = await Promise.all(
      Array.from(
        { length: 10 },
        async (_, i) =>
          new MeshClient({
            baseUrl: this.options.baseUrl,
            token: await this.options.token(`sim-customer-${i + 1}`, ['customer']),
          }),
      ),
    );
    this.timers.push(
      setInterval(() => {
        for (const courier of this.couriers) this.attempt(courier.step(reportEveryMs / 1000));
      }, reportEveryMs),
    );
    if (ordersPerMinute > 0) {
      this.timers.push(setInterval(() => this.attempt(this.order()), 60_000 / ordersPerMinute));
    }
  }

  private async order(): Promise<void> {
    const customer = this.customers[Math.floor(Math.random() * this.customers.length)];
    if (!customer) return;
    // Lunch is near: pickups close to a courier, dropoffs anywhere in town.
    const near = this.couriers[Math.floor(Math.random() * this.couriers.length)]?.position ?? this.randomPoint();
    const pickup = { lat: near.lat + (Math.random() - 0.5) * 0.01, lng: near.lng + (Math.random() - 0.5) * 0.01 };
    await customer.orders.place({ pickup, dropoff: this.randomPoint(), items: [{ sku: 'lunch', qty: 1 }] });
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const courier of this.couriers.splice(0)) courier.stop();
  }
}
