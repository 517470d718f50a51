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

/** `POST /v1/dev/tokens` (DEV_TOKENS=1 only): a token for anyone, for development. */
export const DevTokenRequest = z.strictObject({
  sub: z.string().min(1).max(200),
  roles: z.array(Role).min(1).max(5),
});
export type DevTokenRequest = z.infer<typeof DevTokenRequest>;
export const DevToken = z.object({ token: z.string() });
export type DevToken = z.infer<typeof DevToken>;
