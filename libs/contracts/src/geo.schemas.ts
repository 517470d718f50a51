import { z } from 'zod';

export const Latitude = z.number().min(-90).max(90);
export const Longitude = z.number().min(-180).max(180);

export const LatLng = z.strictObject({ lat: Latitude, lng: Longitude });
export type LatLng = z.infer<typeof LatLng>;
