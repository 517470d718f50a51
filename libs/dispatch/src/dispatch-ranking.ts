import { DEFAULT_VEHICLE, VEHICLE_SPEED_MPS, type LatLng, type Vehicle } from '@mesh/contracts';
import { distance, point } from '@turf/turf';

/** Roads are not straight lines: typical urban ratio of route length to great-circle distance. */
export const DETOUR_FACTOR = 1.3;

export interface CourierCandidate {
  id: string;
  lat: number;
  lng: number;
  vehicle: Vehicle;
}

export interface RankedCandidate extends CourierCandidate {
  /** Great-circle distance to the pickup, metres. */
  distanceM: number;
  /** Estimated travel time to the pickup, seconds. */
  etaS: number;
}

export function metresBetween(a: LatLng, b: LatLng): number {
  return distance(point([a.lng, a.lat]), point([b.lng, b.lat]), { units: 'meters' });
}

export function travelSeconds(metres: number, vehicle: Vehicle = DEFAULT_VEHICLE): number {
  return Math.round((metres * DETOUR_FACTOR) / VEHICLE_SPEED_MPS[vehicle]);
}

/**
 * Candidates for a pickup, best first: shortest ETA given each courier's vehicle,
 * then shortest distance, then id so equal candidates always rank the same.
 * Excluded couriers (those who declined or let the offer lapse) are left out.
 */
export function rankCandidates(
  pickup: LatLng,
  candidates: readonly CourierCandidate[],
  excluded: ReadonlySet<string> = new Set(),
): RankedCandidate[] {
  return candidates
    .filter((c) => !excluded.has(c.id))
    .map((c) => {
      const distanceM = metresBetween(pickup, c);
      return { ...c, distanceM, etaS: travelSeconds(distanceM, c.vehicle) };
    })
    .sort((a, b) => a.etaS - b.etaS || a.distanceM - b.distanceM || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface RadiusPolicy {
  initialRadiusM: number;
  maxRadiusM: number;
}

/** The search radius of an attempt (1-based): doubles per attempt, up to the maximum. */
export function radiusForAttempt(attempt: number, policy: RadiusPolicy): number {
  return Math.min(policy.maxRadiusM, policy.initialRadiusM * 2 ** Math.max(0, attempt - 1));
}

/** ETA of an assigned order: courier → pickup, then pickup → dropoff, seconds. */
export function orderEta(
  courier: LatLng,
  vehicle: Vehicle,
  pickup: LatLng,
  dropoff: LatLng,
): { pickupS: number; dropoffS: number } {
  const pickupS = travelSeconds(metresBetween(courier, pickup), vehicle);
  return { pickupS, dropoffS: pickupS + travelSeconds(metresBetween(pickup, dropoff), vehicle) };
}
