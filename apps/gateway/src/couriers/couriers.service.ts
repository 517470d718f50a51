import { Injectable } from '@nestjs/common';
import { Coalescer, EventBus, newEvent, type MeshEvent } from '@mesh/bus';
import {
  MAX_FIXES_PER_EVENT,
  TOPIC_OF_EVENT,
  type CourierView,
  type EventData,
  type LocationReport,
  type NearbyCouriers,
  type CourierList,
  type FleetQuery,
  type NearbyQuery,
  type Principal,
} from '@mesh/contracts';
import { CourierGeoRepository } from '@mesh/geo';
import { problems } from '@mesh/problem';
import { Metrics } from '@mesh/telemetry';

/** A fix dated further ahead than this is a broken device clock, not a position. */
const MAX_CLOCK_SKEW_MS = 60_000;
const SOURCE = '/gateway/couriers';
/**
 * How long a courier's update waits for Kafka before the app is told 503 and sends it again:
 * with a broker gone, an update that waited on unbounded was given up by the app's HTTP timeout.
 */
const PUBLISH_TIMEOUT_MS = 2_000;
/**
 * Under load, fix events start at most this often: 2,000 couriers' fixes go in a
 * few dozen fuller events a second, each costing gateway, broker and both position
 * functions once. A courier's acknowledgement waits for it at most this long.
 */
const FIX_EVENT_INTERVAL_MS = 25;

type Fix = EventData<'courier.location.reported'>;

@Injectable()
export class CouriersService {
  /**
   * Fixes go to Kafka together: those that arrive while one event is being
   * published, or within the interval since it started, make the next. A fix's
   * order with its courier's other fixes does not matter: the location function
   * keeps the newest by `at`.
   */
  private readonly fixes = new Coalescer<Fix>(
    (fixes) => this.publishFixes(fixes),
    MAX_FIXES_PER_EVENT,
    FIX_EVENT_INTERVAL_MS,
  );

  constructor(
    private readonly bus: EventBus,
    private readonly couriers: CourierGeoRepository,
    private readonly metrics: Metrics,
  ) {}

  /** Puts the courier's fix on Kafka; the location function indexes it. Resolves once Kafka has it. */
  async reportLocation(courier: Principal, report: LocationReport): Promise<void> {
    const now = Date.now();
    const at = report.at ? new Date(report.at) : new Date(now);
    if (at.getTime() - now > MAX_CLOCK_SKEW_MS) {
      throw problems.invalid('The fix is dated in the future.', [{ path: 'body.at', message: 'later than now' }]);
    }
    const { at: _given, ...fix } = report;
    await this.fixes.add({ courierId: courier.sub, ...fix, at: at.toISOString() });
  }

  private publishFixes(fixes: Fix[]): Promise<void> {
    const [first] = fixes as [Fix];
    // Keyed by a courier of the batch, so batches spread over the partitions (and the function's replicas).
    const options = { source: SOURCE, key: first.courierId };
    return this.publish(
      fixes.length === 1
        ? newEvent('courier.location.reported', first, { ...options, subject: first.courierId })
        : newEvent('courier.locations.reported', { fixes }, options),
    );
  }

  /**
   * Going online is always allowed; going offline is refused while the courier
   * holds an offer or an order. Answers with the status the change leads to;
   * the location function applies it in order with the courier's fixes.
   */
  async changeAvailability(courier: Principal, available: boolean): Promise<CourierView> {
    const current = await this.couriers.get(courier.sub);
    if (!available && (current.status === 'busy' || current.status === 'offered')) {
      throw problems.conflict(`A courier who is ${current.status} cannot go offline.`);
    }
    const event = newEvent(
      'courier.availability.changed',
      { courierId: courier.sub, available, ...(courier.vehicle ? { vehicle: courier.vehicle } : {}) },
      {
        source: SOURCE,
        key: courier.sub,
        subject: courier.sub,
      },
    );
    await this.publish(event);
    const status = available ? (current.status === 'offline' ? 'available' : current.status) : 'offline';
    return { ...current, status };
  }

  me(courier: Principal): Promise<CourierView> {
    return this.couriers.get(courier.sub);
  }

  async fleet(query: FleetQuery): Promise<CourierList> {
    return { items: await this.couriers.online(query.limit) };
  }

  async nearby(query: NearbyQuery): Promise<NearbyCouriers> {
    return { items: await this.couriers.nearby(query) };
  }

  private async publish(
    event: MeshEvent<'courier.location.reported' | 'courier.locations.reported' | 'courier.availability.changed'>,
  ): Promise<void> {
    const topic = TOPIC_OF_EVENT[event.type];
    try {
      await this.bus.publish(topic, event, { timeoutMs: PUBLISH_TIMEOUT_MS });
    } catch {
      throw problems.dependencyDown('The event bus did not accept the update; retry shortly.');
    }
    this.metrics.eventsPublished.inc({ topic });
  }
}
