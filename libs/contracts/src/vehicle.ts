import { z } from 'zod';

/**
 * How a courier travels, from the optional `vehicle` claim of its token.
 * Dispatch ranks candidates by ETA, so a car 3 km away can beat a bicycle 2 km away.
 */
export const VEHICLES = ['foot', 'bicycle', 'scooter', 'car'] as const;
export const Vehicle = z.enum(VEHICLES);
export type Vehicle = z.infer<typeof Vehicle>;

export const DEFAULT_VEHICLE: Vehicle = 'bicycle';

/** Typical urban door-to-door speeds, metres per second, including stops. */
export const VEHICLE_SPEED_MPS: Readonly<Record<Vehicle, number>> = {
  foot: 1.3,
  bicycle: 4.2,
  scooter: 6.5,
  car: 7.5,
};
