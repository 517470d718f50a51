import { z } from 'zod';
import type { OfferRevokeReason, OfferView, OrderView } from './order.schemas';
import type { ProblemDetails } from './problem';
import type { StreamView } from './stream.schemas';

export type Ack<T extends object = object> = (reply: AckReply<T>) => void;
export type AckReply<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ProblemDetails };

/** Client → server events (API.md "Socket.IO"). Payloads are validated on arrival; typed `unknown` here for that reason. */
export interface ClientToServerEvents {
  'courier.location': (payload: unknown, ack?: Ack) => void;
  'order.subscribe': (payload: unknown, ack?: Ack) => void;
  'order.unsubscribe': (payload: unknown, ack?: Ack) => void;
  'offer.accept': (payload: unknown, ack?: Ack<{ order: OrderView }>) => void;
  'offer.decline': (payload: unknown, ack?: Ack) => void;
  'stream.subscribe': (payload: unknown, ack?: Ack) => void;
  'stream.unsubscribe': (payload: unknown, ack?: Ack) => void;
}

export interface CourierLocationPush {
  courierId: string;
  orderId: string | null;
  lat: number;
  lng: number;
  heading?: number;
  at: string;
}

/**
 * The second argument of every server → client event kept in a room's history
 * (API.md "Missed events"): the event's id, the room it came through, and its
 * position there (offsets increase within a room; one push has one offset in
 * all its rooms). `courier.location` is sent without it: a position is not a
 * change to replay, the next one supersedes it.
 */
export interface PushMeta {
  id: string;
  room: string;
  offset: string;
}

/** Server → client events. */
export interface ServerToClientEvents {
  'courier.location': (payload: CourierLocationPush) => void;
  'order.updated': (payload: OrderView, meta: PushMeta) => void;
  /** Without meta when re-sent on connect as the courier's open offer (no history was asked for, or none was left). */
  'offer.created': (payload: OfferView, meta?: PushMeta) => void;
  'offer.revoked': (payload: { offerId: string; orderId: string; reason: OfferRevokeReason }, meta: PushMeta) => void;
  'stream.updated': (payload: StreamView, meta: PushMeta) => void;
  /** The server lost live state: the courier's app sends its availability and position again at once. */
  'courier.resync': (payload: Record<string, never>, meta: PushMeta) => void;
  /** After connecting: whether every event missed since the `resume` offsets came first (false: refetch). */
  recovery: (payload: { recovered: boolean }) => void;
}

/** Pushes not kept in any history (sent without PushMeta). */
export const UNRECORDED_EVENTS: readonly ServerEventName[] = ['courier.location', 'recovery'];

/** A position in a room's history, as PushMeta carries it. */
export const PushOffset = z.string().regex(/^\d{1,19}$/, 'a history offset');
/** The handshake's `auth`: the token and, when resuming, the last offset seen per room. */
export const SocketAuth = z.object({
  token: z.string().max(8_192).optional(),
  resume: z
    .record(z.string().min(1).max(200), PushOffset)
    .refine((r) => Object.keys(r).length <= 100, 'at most 100 rooms')
    .optional(),
});
export type SocketAuth = z.infer<typeof SocketAuth>;

export type ServerEventName = keyof ServerToClientEvents;
export type ServerEventPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];

/** Rooms a socket joins on connect (API.md). */
export const rooms = {
  user: (sub: string) => `user:${sub}`,
  courier: (sub: string) => `courier:${sub}`,
  merchant: (sub: string) => `merchant:${sub}`,
  host: (sub: string) => `host:${sub}`,
  order: (id: string) => `order:${id}`,
  stream: (id: string) => `stream:${id}`,
  dispatchers: 'dispatchers',
  /** Every courier on any gateway (for `courier.resync`). */
  couriers: 'couriers',
} as const;
