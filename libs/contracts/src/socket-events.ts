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

/** Server → client events. */
export interface ServerToClientEvents {
  'courier.location': (payload: CourierLocationPush) => void;
  'order.updated': (payload: OrderView) => void;
  'offer.created': (payload: OfferView) => void;
  'offer.revoked': (payload: { offerId: string; orderId: string; reason: OfferRevokeReason }) => void;
  'stream.updated': (payload: StreamView) => void;
  /** The server lost live state: the courier's app sends its availability and position again at once. */
  'courier.resync': (payload: Record<string, never>) => void;
}

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
