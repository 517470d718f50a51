import { Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { rooms } from '@mesh/contracts';
import { CourierGeoRepository } from '@mesh/geo';
import { ClientPush } from '@mesh/realtime';
import type { MeshFunction } from '../host/mesh-function';

type LocationEvents = 'courier.location.reported' | 'courier.availability.changed';

/** Forget throttle entries of couriers not heard from for this long. */
const THROTTLE_MEMORY_MS = 10 * 60_000;

/**
 * Courier fixes and availability changes → the Redis GEO index and courier
 * status; dispatchers see positions live, at most once per interval per courier.
 */
@Injectable()
export class LocationFunction implements MeshFunction<LocationEvents> {
  readonly name = 'location';
  readonly topic = 'couriers';
  readonly accepts = ['courier.location.reported', 'courier.availability.changed'] as const;
  private readonly lastPushAt = new Map<string, number>();
  private lastSweepAt = Date.now();

  constructor(
    private readonly couriers: CourierGeoRepository,
    private readonly push: ClientPush,
    private readonly config: AppConfig,
  ) {}

  async handle(event: MeshEvent<LocationEvents>): Promise<void> {
    switch (event.type) {
      case 'courier.location.reported': {
        const { courierId, ...fix } = (event as MeshEvent<'courier.location.reported'>).data;
        const applied = await this.couriers.recordLocation(courierId, fix);
        if (applied) this.pushToDispatchers(courierId, fix);
        return;
      }
      case 'courier.availability.changed': {
        const { courierId, available } = (event as MeshEvent<'courier.availability.changed'>).data;
        // 'engaged' means an offer or order arrived after the gateway's check; the courier stays on.
        await this.couriers.setAvailability(courierId, available);
        return;
      }
    }
  }

  private pushToDispatchers(courierId: string, fix: { lat: number; lng: number; heading?: number; at: string }): void {
    const now = Date.now();
    const last = this.lastPushAt.get(courierId) ?? 0;
    if (now - last < this.config.locationPushIntervalMs) return;
    this.lastPushAt.set(courierId, now);
    if (now - this.lastSweepAt > THROTTLE_MEMORY_MS) this.sweep(now);
    this.push.emit(rooms.dispatchers, 'courier.location', {
      courierId,
      orderId: null,
      lat: fix.lat,
      lng: fix.lng,
      ...(fix.heading !== undefined ? { heading: fix.heading } : {}),
      at: fix.at,
    });
  }

  private sweep(now: number): void {
    this.lastSweepAt = now;
    for (const [id, at] of this.lastPushAt) if (now - at > THROTTLE_MEMORY_MS) this.lastPushAt.delete(id);
  }
}
