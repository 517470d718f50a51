import { z } from 'zod';
import type { Vehicle } from './vehicle';

export const ROLES = ['customer', 'courier', 'merchant', 'dispatcher', 'host'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Who is calling: the verified JWT's subject and roles. */
export interface Principal {
  readonly sub: string;
  readonly roles: readonly Role[];
  /** Token expiry, epoch seconds. */
  readonly exp: number;
  /** Couriers only: how they travel (optional `vehicle` claim). */
  readonly vehicle?: Vehicle;
}
