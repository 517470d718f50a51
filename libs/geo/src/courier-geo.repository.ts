import type { CourierStatus, CourierView, NearbyCourier, Vehicle } from '@mesh/contracts';

export interface CourierFix {
  lat: number;
  lng: number;
  heading?: number;
  speedMps?: number;
  accuracyM?: number;
  /** When the device took the fix, ISO-8601. */
  at: string;
}

export interface NearbySearch {
  lat: number;
  lng: number;
  radiusM: number;
  limit: number;
}

/** An available courier near a point, as dispatch ranks it. */
export interface AvailableCourier {
  id: string;
  lat: number;
  lng: number;
  distanceM: number;
  vehicle: Vehicle;
}

/** A fix that was stored, and the order its courier is on (its watchers want the position). */
export interface RecordedFix {
  activeOrderId: string | null;
}

export type AvailabilityResult =
  | { outcome: 'ok'; courier: CourierView }
  /** The courier holds an offer or an order and cannot go offline now. */
  | { outcome: 'engaged'; status: CourierStatus };

/**
 * Couriers' live state and the geo index over their positions. Only online
 * couriers with a known position are in the index; couriers nobody has heard of
 * are `offline` with no location.
 *
 * A courier is in the market of its last position (DESIGN.md, "Markets"), and is
 * offered only that market's orders. One that rides across a border moves with
 * its next fix, unless it holds an offer or an order: then it stays until done.
 */
export abstract class CourierGeoRepository {
  /** Stores a fix unless a newer one is already stored (null then); indexes the courier when online. */
  abstract recordLocation(courierId: string, fix: CourierFix): Promise<RecordedFix | null>;
  /** Going online records how the courier travels (`vehicle`, default bicycle). */
  abstract setAvailability(courierId: string, available: boolean, vehicle?: Vehicle): Promise<AvailabilityResult>;
  abstract get(courierId: string): Promise<CourierView>;
  /** Online couriers within the radius, nearest first, with their distance in metres. */
  abstract nearby(search: NearbySearch): Promise<NearbyCourier[]>;
  /** Couriers online with a known position, by id, up to `limit` (the dispatchers' fleet map). */
  abstract online(limit: number): Promise<CourierView[]>;
  /**
   * Couriers of `market` free for an offer (available, with a position) within the
   * radius, nearest first; with `fixedSinceMs`, only those whose last fix is at least
   * that recent (a phone that stopped reporting is not offered work).
   */
  abstract nearestAvailable(
    search: NearbySearch & { market: string; fixedSinceMs?: number },
  ): Promise<AvailableCourier[]>;
  abstract ping(): Promise<void>;
}

export function offlineCourier(id: string): CourierView {
  return { id, status: 'offline', location: null, activeOrderId: null };
}

/** Distances are reported to the decimetre: finer is below what GPS or the geohash index resolve. */
export function roundMetres(metres: number): number {
  return Math.round(metres * 10) / 10;
}
