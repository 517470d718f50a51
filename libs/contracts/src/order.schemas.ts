import { z } from 'zod';
import { queryNumber } from './query';
import { LatLng } from './geo.schemas';

export const ORDER_STATUSES = [
  'pending',
  'dispatching',
  'offered',
  'assigned',
  'picked_up',
  'delivered',
  'cancelled',
  'unassigned',
] as const;
export const OrderStatus = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof OrderStatus>;

/** Server-generated ids (ULIDs); anything else cannot name an order or offer. */
export const ResourceId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'not an id');

export const OrderItem = z.strictObject({
  sku: z.string().min(1).max(64),
  qty: z.number().int().min(1).max(999),
});
export type OrderItem = z.infer<typeof OrderItem>;

export const MAX_ORDER_ITEMS = 100;

/** Body of `POST /v1/orders`. */
export const PlaceOrder = z.strictObject({
  pickup: LatLng,
  dropoff: LatLng,
  merchantId: z.string().min(1).max(200).optional(),
  items: z.array(OrderItem).max(MAX_ORDER_ITEMS).optional(),
  note: z.string().max(500).optional(),
});
export type PlaceOrder = z.infer<typeof PlaceOrder>;

/** `Idempotency-Key` header: a client-chosen token, printable ASCII. */
export const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters');

export const OrderEta = z.object({ pickupS: z.number(), dropoffS: z.number() });
export type OrderEta = z.infer<typeof OrderEta>;

export const TimelineEntry = z.object({ status: OrderStatus, at: z.string() });
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const PROOF_STATUSES = ['processing', 'ready', 'failed'] as const;
export const ProofStatus = z.enum(PROOF_STATUSES);
export type ProofStatus = z.infer<typeof ProofStatus>;

/**
 * A proof-of-delivery photo (API.md "Proof of delivery"). The URLs are signed
 * and expire; they are filled in for whoever is shown the order, and null in
 * the events on the log.
 */
export const ProofView = z.object({
  status: ProofStatus,
  photoUrl: z.string().nullable(),
  thumbnailUrl: z.string().nullable(),
  error: z.string().nullable(),
});
export type ProofView = z.infer<typeof ProofView>;

/** The order as every order route returns it and `order.updated` pushes it. */
export const OrderView = z.object({
  id: z.string(),
  status: OrderStatus,
  customerId: z.string(),
  merchantId: z.string().nullable(),
  courierId: z.string().nullable(),
  pickup: LatLng,
  dropoff: LatLng,
  items: z.array(OrderItem),
  note: z.string().nullable(),
  attempts: z.number().int(),
  eta: OrderEta.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  timeline: z.array(TimelineEntry),
  // Events written before proofs existed carry none.
  proof: ProofView.nullable().default(null),
});
export type OrderView = z.infer<typeof OrderView>;

export const MAX_ORDER_PAGE = 100;

export const OrderListQuery = z.strictObject({
  status: OrderStatus.optional(),
  limit: queryNumber(z.number().int().min(1).max(MAX_ORDER_PAGE)).default(20),
  cursor: ResourceId.optional(),
});
export type OrderListQuery = z.infer<typeof OrderListQuery>;

export const OrderList = z.object({ items: z.array(OrderView), nextCursor: z.string().nullable() });
export type OrderList = z.infer<typeof OrderList>;

/** An offer as its courier receives it (`offer.created`). */
export const OfferView = z.object({
  offerId: z.string(),
  orderId: z.string(),
  pickup: LatLng,
  dropoff: LatLng,
  distanceM: z.number(),
  expiresAt: z.string(),
});
export type OfferView = z.infer<typeof OfferView>;

export const OFFER_REVOKE_REASONS = ['expired', 'cancelled'] as const;
export type OfferRevokeReason = (typeof OFFER_REVOKE_REASONS)[number];

/** Ids named by clients: any short string; one that names nothing (or nothing of theirs) is a 404. */
const ClientId = z.string().min(1).max(64);
export const OrderRef = z.strictObject({ orderId: ClientId });
/** `order.subscribe`: an order, and optionally the last history offset seen in its room (to get what was missed). */
export const OrderWatch = z.strictObject({
  orderId: ClientId,
  offset: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
});
export type OrderWatch = z.infer<typeof OrderWatch>;
export type OrderRef = z.infer<typeof OrderRef>;
export const OfferRef = z.strictObject({ offerId: ClientId });
export type OfferRef = z.infer<typeof OfferRef>;
