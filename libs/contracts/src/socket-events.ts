import { z } from 'zod';
import type { LocationReport } from './courier.schemas';
import type { OfferRef, OfferRevokeReason, OfferView, OrderRef, OrderView, OrderWatch } from './order.schemas';
import type { ProblemDetails } from './problem';
import type { StreamRef, StreamView, StreamWatch } from './stream.schemas';

export type Ack<T extends object = object> = (reply: AckReply<T>) => void;
export type AckReply<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ProblemDetails };

/**
 * Client → server events (API.md "Socket.IO"): what a client sends with each,
 * and what the acknowledgement carries besides `ok: true`.
 */
export interface ClientEventMap {
  'courier.location': { payload: LocationReport; reply: object };
  'order.subscribe': { payload: OrderWatch; reply: { recovered?: boolean } };
  'order.unsubscribe': { payload: OrderRef; reply: object };
  'offer.accept': { payload: OfferRef; reply: { order: OrderView } };
  'offer.decline': { payload: OfferRef; reply: object };
  'stream.subscribe': { payload: StreamWatch; reply: { recovered?: boolean } };
  'stream.unsubscribe': { payload: StreamRef; reply: object };
}
export type ClientEventName = keyof ClientEventMap;

/** The client events as the server receives them: payloads are untrusted until validated, hence `unknown`. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: unknown, ack?: Ack<ClientEventMap[E]['reply']>) => void;
};

/** The same events as a client sends them (`@mesh/client`): typed payloads, always acknowledged. */
export type TypedClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientEventMap[E]['payload'], ack: Ack<ClientEventMap[E]['reply']>) => void;
};

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
