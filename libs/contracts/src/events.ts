import { z } from 'zod';
import { LocationReport } from './courier.schemas';
import { OrderView } from './order.schemas';
import { StreamSpec } from './stream.schemas';
import type { TopicKey } from './topics';
import { Vehicle } from './vehicle';

/** An offer as the dispatch records carry it: the courier's view plus who holds it. */
export const OfferRecord = z.object({
  offerId: z.string(),
  orderId: z.string(),
  courierId: z.string(),
  pickup: OrderView.shape.pickup,
  dropoff: OrderView.shape.dropoff,
  distanceM: z.number(),
  expiresAt: z.string(),
});
export type OfferRecord = z.infer<typeof OfferRecord>;

/**
 * Dispatch's bookkeeping of an order after a change, with the offer's status:
 * with the view, all a rebuild needs to restore the order as stored.
 */
export const OrderBookkeeping = z.strictObject({
  /** The stored order's version after the change; a rebuild never writes an older one over a newer. */
  version: z.number().int().min(1),
  offerId: z.string().nullable(),
  excluded: z.array(z.string()),
  emptySearches: z.number().int().min(0),
  retryAtMs: z.number().nullable(),
  offerStatus: z.enum(['pending', 'accepted', 'declined', 'expired', 'revoked']).nullable(),
  /** The upload the order's proof photo is (its object key names it); absent on events from before proofs. */
  proofUploadId: z.string().nullable().optional(),
  /** The market the order belongs to (its pickup's); absent on events from before markets. */
  market: z.string().min(1).optional(),
});
export type OrderBookkeeping = z.infer<typeof OrderBookkeeping>;

/**
 * Every change of an order: the order as it became, the offer the change
 * concerned, if any, and (on every event written since the outbox) dispatch's bookkeeping.
 */
const OrderChanged = z.strictObject({
  order: OrderView,
  offer: OfferRecord.nullable(),
  dispatch: OrderBookkeeping.optional(),
});

/** A stream-mix request: the whole desired composition of a stream at its new revision. */
const StreamChanged = z.strictObject({ stream: StreamSpec });

/** A courier's fix as events carry it: the report, with who sent it and when. */
const CourierFix = LocationReport.extend({
  courierId: z.string().min(1),
  at: z.iso.datetime({ offset: true }),
});

/** Fixes in one `courier.locations.reported` at most. */
export const MAX_FIXES_PER_EVENT = 500;

/**
 * The data of every event on the mesh, by CloudEvents `type`. One schema per
 * type: the producer builds it, the consuming function validates it.
 */
export const EVENT_DATA = {
  // The courier's own report, with who sent it and when (the gateway fills `at` when the app did not).
  'courier.location.reported': CourierFix,
  // Fixes of many couriers, as a gateway gathers them under load (one event, not one per fix).
  'courier.locations.reported': z.strictObject({ fixes: z.array(CourierFix).min(1).max(MAX_FIXES_PER_EVENT) }),
  'courier.availability.changed': z.strictObject({
    courierId: z.string().min(1),
    available: z.boolean(),
    vehicle: Vehicle.optional(),
  }),
  'order.created': OrderChanged,
  'order.offered': OrderChanged,
  'order.offer_declined': OrderChanged,
  'order.offer_expired': OrderChanged,
  'order.assigned': OrderChanged,
  'order.picked_up': OrderChanged,
  'order.delivered': OrderChanged,
  'order.cancelled': OrderChanged,
  'order.unassigned': OrderChanged,
  'order.redispatched': OrderChanged,
  // A proof photo was uploaded (its processing begins), and processed (ready, or failed with a reason).
  'order.proof_uploaded': OrderChanged,
  'order.proof_processed': OrderChanged,
  /** An order's dispatch deadline passed (an offer's expiry, or a stalled dispatch); the dispatch function looks again. */
  'order.deadline_reached': z.strictObject({ orderId: z.string().min(1) }),
  'stream.created': StreamChanged,
  'stream.participant_set': StreamChanged,
  'stream.participant_removed': StreamChanged,
  'stream.layout_changed': StreamChanged,
  'stream.start_requested': StreamChanged,
  'stream.stop_requested': StreamChanged,
  /**
   * An object was stored (S3's ObjectCreated, as a CloudEvent): its bucket, key,
   * version (ETag) and size, and the content type its bytes were found to be.
   */
  'object.created': z.strictObject({
    bucket: z.string().min(1),
    key: z.string().min(1).max(512),
    version: z.string().min(1),
    size: z.number().int().min(0),
    contentType: z.string().min(1),
  }),
  /** A schedule's tick (schedules.ts): which schedule, the tick it stands for, and the schedule's payload. */
  'schedule.fired': z.strictObject({
    schedule: z.string().min(1),
    tickAt: z.iso.datetime({ offset: true }),
    payload: z.record(z.string(), z.unknown()),
  }),
} as const;

export type EventType = keyof typeof EVENT_DATA;
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA)[T]>;

export type OrderChangeType = {
  [T in EventType]: EventData<T> extends z.infer<typeof OrderChanged> ? T : never;
}[EventType];

/** Which topic carries which event types; one entity's events share a topic so they stay ordered. */
export const TOPIC_OF_EVENT: Readonly<Record<EventType, TopicKey>> = {
  'courier.location.reported': 'couriers',
  'courier.locations.reported': 'couriers',
  'courier.availability.changed': 'couriers',
  'order.created': 'orders',
  'order.offered': 'orders',
  'order.offer_declined': 'orders',
  'order.offer_expired': 'orders',
  'order.assigned': 'orders',
  'order.picked_up': 'orders',
  'order.delivered': 'orders',
  'order.cancelled': 'orders',
  'order.unassigned': 'orders',
  'order.redispatched': 'orders',
  'order.proof_uploaded': 'orders',
  'order.proof_processed': 'orders',
  'order.deadline_reached': 'orders',
  'object.created': 'media',
  'stream.created': 'streams',
  'stream.participant_set': 'streams',
  'stream.participant_removed': 'streams',
  'stream.layout_changed': 'streams',
  'stream.start_requested': 'streams',
  'stream.stop_requested': 'streams',
  'schedule.fired': 'schedules',
};

export type StreamChangeType = {
  [T in EventType]: EventData<T> extends z.infer<typeof StreamChanged> ? T : never;
}[EventType];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_DATA, type);
}
