import { Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { rooms, type EventData } from '@mesh/contracts';
import { CourierGeoRepository } from '@mesh/geo';
import { ClientPush } from '@mesh/realtime';
import type { MeshFunction } from '../host/mesh-function';

type LocationEvents = 'courier.location.reported' | 'courier.locations.reported' | 'courier.availability.changed';

/** Forget throttle entries of couriers not heard from for this long. */
const THROTTLE_MEMORY_MS = 10 * 60_000;
/** API.md: an order's watchers get its courier's position at most twice a second. */
const ORDER_PUSH_INTERVAL_MS = 500;

/**
 * Courier fixes and availability changes → the Redis GEO index and courier
 * status. Dispatchers see positions live, at most once per interval per courier;
 * watchers of the courier's active order see them at most twice a second.
 */
@Injectable()
export class LocationFunction implements MeshFunction<LocationEvents> {
  readonly name = 'location';
  readonly topic = 'couriers';
  readonly accepts = [
    'courier.location.reported',
    'courier.locations.reported',
    'courier.availability.changed',
  ] as const;
  // A fix is stored only if newer than the stored one, and availability is a set, not a toggle.
  readonly idempotency = 'natural';
  readonly records = 'failures';
  // A position a dispatcher's map shows 100 ms later is no later to anyone (a courier sends one every few
  // seconds); fetched every 100 ms, 2,000 couriers' positions cost the functions a fifth less than at 50 ms.
  readonly fetchIntervalMs = 100;
  private readonly lastPushAt = new Map<string, number>();
  private lastSweepAt = Date.now();

  constructor(
    private readonly couriers: CourierGeoRepository,
    private readonly push: ClientPush,
    private readonly config: AppConfig,
  ) {}

  async handle(event: MeshEvent<LocationEvents>): Promise<void> {
    switch (event.type) {
      case 'courier.location.reported':
        return this.record(event.data);
      case 'courier.locations.reported':
        // Recorded together: the repository sends the fixes asked for in one tick in one call.
        await Promise.all(event.data.fixes.map((fix) => this.record(fix)));
        return;
      case 'courier.availability.changed': {
        const { courierId, available, vehicle } = event.data;
        // 'engaged' means an offer or order arrived after the gateway's check; the courier stays on.
        await this.couriers.setAvailability(courierId, available, vehicle);
        return;
      }
    }
  }

  private async record({ courierId, ...fix }: EventData<'courier.location.reported'>): Promise<void> {
    const recorded = await this.couriers.recordLocation(courierId, fix);
    if (recorded) this.pushPosition(courierId, recorded.activeOrderId, fix);
  }

  private pushPosition(
    courierId: string,
    orderId: string | null,
    fix: { lat: number; lng: number; heading?: number; at: string },
  ): void {
    const now = Date.now();
    const position = {
      courierId,
      orderId,
      lat: fix.lat,
      lng: fix.lng,
      ...(fix.heading !== undefined ? { heading: fix.heading } : {}),
      at: fix.at,
    };
    if (now - this.lastSweepAt > THROTTLE_MEMORY_MS) this.sweep(now);
    // Live positions are not kept or retried: a push lost with its Redis node is replaced by the next fix in seconds.
    if (orderId && this.due(`order:${orderId}`, ORDER_PUSH_INTERVAL_MS, now)) {
      this.push.emit(rooms.order(orderId), 'courier.location', position).catch(() => undefined);
    }
    if (this.due(`courier:${courierId}`, this.config.locationPushIntervalMs, now)) {
      this.push.emit(rooms.dispatchers, 'courier.location', position).catch(() => undefined);
    }
  }

  /** Throttle: true, and remembers now, if `key` last fired at least `intervalMs` ago. */
  private due(key: string, intervalMs: number, now: number): boolean {
    if (now - (this.lastPushAt.get(key) ?? 0) < intervalMs) return false;
    this.lastPushAt.set(key, now);
    return true;
  }

  private sweep(now: number): void {
    this.lastSweepAt = now;
    for (const [id, at] of this.lastPushAt) if (now - at > THROTTLE_MEMORY_MS) this.lastPushAt.delete(id);
  }
}
