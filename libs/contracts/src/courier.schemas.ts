import { z } from 'zod';
import { Latitude, Longitude } from './geo.schemas';
import { queryNumber } from './query';

/** Body of `PUT /v1/couriers/me/location` and of the `courier.location` socket event. */
export const LocationReport = z.strictObject({
  lat: Latitude,
  lng: Longitude,
  heading: z.number().min(0).max(360).optional(),
  speedMps: z.number().min(0).max(100).optional(),
  accuracyM: z.number().min(0).max(100_000).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});
export type LocationReport = z.infer<typeof LocationReport>;

export const AvailabilityChange = z.strictObject({ available: z.boolean() });
export type AvailabilityChange = z.infer<typeof AvailabilityChange>;

export const MAX_NEARBY_RADIUS_M = 50_000;
export const MAX_NEARBY_LIMIT = 100;

export const NearbyQuery = z.strictObject({
  lat: queryNumber(Latitude),
  lng: queryNumber(Longitude),
  radiusM: queryNumber(z.number().positive().max(MAX_NEARBY_RADIUS_M)).default(5_000),
  limit: queryNumber(z.number().int().min(1).max(MAX_NEARBY_LIMIT)).default(20),
});
export type NearbyQuery = z.infer<typeof NearbyQuery>;

export const COURIER_STATUSES = ['offline', 'available', 'offered', 'busy'] as const;
export const CourierStatus = z.enum(COURIER_STATUSES);
export type CourierStatus = z.infer<typeof CourierStatus>;

export const CourierLocation = z.object({ lat: Latitude, lng: Longitude, at: z.string() });
export type CourierLocation = z.infer<typeof CourierLocation>;

export const CourierView = z.object({
  id: z.string(),
  status: CourierStatus,
  location: CourierLocation.nullable(),
  activeOrderId: z.string().nullable(),
});
export type CourierView = z.infer<typeof CourierView>;

export const MAX_FLEET_PAGE = 2_000;
/** `GET /v1/couriers`: the online couriers with a position, by id. */
export const FleetQuery = z.strictObject({
  limit: queryNumber(z.number().int().min(1).max(MAX_FLEET_PAGE)).default(500),
});
export type FleetQuery = z.infer<typeof FleetQuery>;
export const CourierList = z.object({ items: z.array(CourierView) });
export type CourierList = z.infer<typeof CourierList>;

export const NearbyCourier = CourierView.extend({ distanceM: z.number() });
export type NearbyCourier = z.infer<typeof NearbyCourier>;

export const NearbyCouriers = z.object({ items: z.array(NearbyCourier) });
export type NearbyCouriers = z.infer<typeof NearbyCouriers>;
