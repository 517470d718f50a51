import type {
  ActivationList,
  ActivationQuery,
  AvailabilityChange,
  ChangeLayout,
  CourierList,
  CourierTrail,
  CourierView,
  CreateStream,
  DevTokenRequest,
  DispatchReport,
  DispatchReportQuery,
  FleetQuery,
  FunctionHealthList,
  LocationReport,
  NearbyCouriers,
  NearbyQuery,
  OrderList,
  OrderListQuery,
  OrderView,
  PlaceOrder,
  PlaybackRequest,
  PlaybackView,
  ScheduleList,
  SetParticipant,
  StreamList,
  StreamListQuery,
  StreamView,
} from '@mesh/contracts';
import type { z } from 'zod';
import { MeshHttp, type MeshHttpOptions, type MeshRequest, type QueryValue } from './http';
import { MeshLive, type MeshLiveOptions } from './live';

export type MeshClientOptions = MeshHttpOptions;

/** A time as the API takes it: an ISO-8601 string, or a `Date`. */
export type Instant = string | Date;
/** A span of time, `from` inclusive. */
export interface Span {
  from: Instant;
  to: Instant;
}

/** A photo to upload: its bytes (or a stream of them, sent as it is read) and media type. */
export interface Photo {
  data: Blob | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;
  contentType: 'image/jpeg' | 'image/png' | 'image/webp';
}

const at = (t: Instant) => (typeof t === 'string' ? t : t.toISOString());
const id = (value: string) => encodeURIComponent(value);
type Optional<T> = { [K in keyof T]?: T[K] };
/** What a body schema accepts (its defaulted fields optional), as opposed to what the gateway reads from it. */
type Input<S extends z.ZodType> = z.input<S>;

/**
 * The typed client of the Dispatch Mesh API (API.md): every REST route as a
 * method that resolves with its view or throws the route's problem as a typed
 * `MeshApiError`, and `live()` for the Socket.IO connection.
 *
 * ```ts
 * const mesh = new MeshClient({ baseUrl: 'https://api.example.com', token: () => auth.token() });
 * const order = await mesh.orders.place({ pickup, dropoff });
 * ```
 */
export class MeshClient {
  readonly http: MeshHttp;
  readonly orders: Orders;
  readonly couriers: Couriers;
  readonly offers: Offers;
  readonly streams: Streams;
  readonly admin: Admin;
  readonly dev: DevTokens;

  constructor(readonly options: MeshClientOptions) {
    this.http = new MeshHttp(options);
    this.orders = new Orders(this.http);
    this.couriers = new Couriers(this.http);
    this.offers = new Offers(this.http);
    this.streams = new Streams(this.http);
    this.admin = new Admin(this.http);
    this.dev = new DevTokens(this.http);
  }

  /** The live connection (not yet connected: call `connect()`), with this client's base URL and token. */
  live(options: MeshLiveOptions = {}): MeshLive {
    return new MeshLive(this.http.baseUrl, this.http.tokens, options);
  }

  /**
   * A signed URL the API handed out (a proof photo, an HLS playlist or segment),
   * fetched as bytes; relative ones are on the gateway. Throws its problem like any call.
   */
  async download(url: string): Promise<{ contentType: string | null; bytes: Uint8Array }> {
    const res = await this.http.request<Uint8Array>({ method: 'GET', path: url, anonymous: true, read: 'bytes' });
    return { contentType: res.headers.get('content-type'), bytes: res.body };
  }
}

/** A call whose successful answer is its JSON body. */
async function call<T>(http: MeshHttp, request: MeshRequest): Promise<T> {
  return (await http.request<T>(request)).body;
}

class Orders {
  constructor(private readonly http: MeshHttp) {}

  /**
   * Places an order (customer): `pending` until dispatch offers it. Sent again after
   * a lost connection or a 503 under one `Idempotency-Key` (generated unless you give
   * yours), so it is never placed twice.
   */
  place(order: Input<typeof PlaceOrder>, options: { idempotencyKey?: string } = {}): Promise<OrderView> {
    const key = options.idempotencyKey ?? (this.http.retry.attempts > 0 ? newIdempotencyKey() : undefined);
    return call(this.http, {
      method: 'POST',
      path: '/v1/orders',
      json: order,
      ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
    });
  }

  get(orderId: string): Promise<OrderView> {
    return call(this.http, { method: 'GET', path: `/v1/orders/${id(orderId)}` });
  }

  /** One page, newest first: a customer's own, a courier's assigned, a merchant's, or all (dispatcher). */
  list(query: Optional<OrderListQuery> = {}): Promise<OrderList> {
    return call(this.http, { method: 'GET', path: '/v1/orders', query: query });
  }

  /** Every order `list` would give, page after page, up to `max`. */
  async *each(query: Optional<Omit<OrderListQuery, 'cursor'>> = {}, max = Infinity): AsyncGenerator<OrderView> {
    let cursor: string | null = null;
    let count = 0;
    do {
      const page: OrderList = await this.list({ ...query, ...(cursor ? { cursor } : {}) });
      for (const order of page.items) {
        if (count++ >= max) return;
        yield order;
      }
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Its customer before pick-up, or a dispatcher. */
  cancel(orderId: string): Promise<OrderView> {
    return call(this.http, { method: 'POST', path: `/v1/orders/${id(orderId)}/cancel` });
  }

  /** A dispatcher, for an `unassigned` order: dispatch starts over. */
  redispatch(orderId: string): Promise<OrderView> {
    return call(this.http, { method: 'POST', path: `/v1/orders/${id(orderId)}/redispatch` });
  }

  /** Its courier, at the pickup. */
  pickUp(orderId: string): Promise<OrderView> {
    return call(this.http, { method: 'POST', path: `/v1/orders/${id(orderId)}/pickup` });
  }

  /** Its courier, at the dropoff: the courier is available again. */
  deliver(orderId: string): Promise<OrderView> {
    return call(this.http, { method: 'POST', path: `/v1/orders/${id(orderId)}/deliver` });
  }

  /** Its courier's proof-of-delivery photo (at most 10 MiB): `proof.status` is `processing`, then `order.updated` says `ready`. */
  uploadProof(orderId: string, photo: Photo): Promise<OrderView> {
    return call(this.http, {
      method: 'PUT',
      path: `/v1/orders/${id(orderId)}/proof`,
      body: { data: photo.data, contentType: photo.contentType },
    });
  }
}

class Couriers {
  constructor(private readonly http: MeshHttp) {}

  /** The calling courier. */
  me(): Promise<CourierView> {
    return call(this.http, { method: 'GET', path: '/v1/couriers/me' });
  }

  /** Going offline while busy is a `ConflictError`. */
  setAvailability(available: boolean): Promise<CourierView> {
    const json: AvailabilityChange = { available };
    return call(this.http, { method: 'PUT', path: '/v1/couriers/me/availability', json });
  }

  /** Over REST; a connected app sends positions on its socket instead (`MeshLive.reportLocation`). */
  async reportLocation(report: Input<typeof LocationReport>): Promise<void> {
    await this.http.request({ method: 'PUT', path: '/v1/couriers/me/location', json: report });
  }

  /** Dispatchers: the free couriers nearest a point, nearest first. */
  nearby(query: Pick<NearbyQuery, 'lat' | 'lng'> & Optional<NearbyQuery>): Promise<NearbyCouriers> {
    return call(this.http, { method: 'GET', path: '/v1/couriers/nearby', query });
  }

  /** Dispatchers: the online couriers with a position. */
  list(query: Optional<FleetQuery> = {}): Promise<CourierList> {
    return call(this.http, { method: 'GET', path: '/v1/couriers', query });
  }
}

class Offers {
  constructor(private readonly http: MeshHttp) {}

  /** The offered courier: the order, now `assigned`; expired or already answered is a `ConflictError`. */
  accept(offerId: string): Promise<OrderView> {
    return call(this.http, { method: 'POST', path: `/v1/offers/${id(offerId)}/accept` });
  }

  async decline(offerId: string): Promise<void> {
    await this.http.request({ method: 'POST', path: `/v1/offers/${id(offerId)}/decline` });
  }
}

class Streams {
  constructor(private readonly http: MeshHttp) {}

  /** A host's new room, `idle`. */
  create(stream: Input<typeof CreateStream>): Promise<StreamView> {
    return call(this.http, { method: 'POST', path: '/v1/streams', json: stream });
  }

  get(streamId: string): Promise<StreamView> {
    return call(this.http, { method: 'GET', path: `/v1/streams/${id(streamId)}` });
  }

  /** Dispatchers: the newest rooms. */
  list(query: Optional<StreamListQuery> = {}): Promise<StreamList> {
    return call(this.http, { method: 'GET', path: '/v1/streams', query });
  }

  /** Its host: adds a co-host or changes one's input, volume or mute (a new `revision`). */
  setParticipant(streamId: string, userId: string, participant: Input<typeof SetParticipant>): Promise<StreamView> {
    return call(this.http, {
      method: 'PUT',
      path: `/v1/streams/${id(streamId)}/participants/${id(userId)}`,
      json: participant,
    });
  }

  removeParticipant(streamId: string, userId: string): Promise<StreamView> {
    return call(this.http, { method: 'DELETE', path: `/v1/streams/${id(streamId)}/participants/${id(userId)}` });
  }

  setLayout(streamId: string, layout: Input<typeof ChangeLayout>): Promise<StreamView> {
    return call(this.http, { method: 'PUT', path: `/v1/streams/${id(streamId)}/layout`, json: layout });
  }

  start(streamId: string): Promise<StreamView> {
    return call(this.http, { method: 'POST', path: `/v1/streams/${id(streamId)}/start` });
  }

  stop(streamId: string): Promise<StreamView> {
    return call(this.http, { method: 'POST', path: `/v1/streams/${id(streamId)}/stop` });
  }

  /** Its host: a playback URL anyone holding it can play, for an audience. */
  playback(streamId: string, request: Input<typeof PlaybackRequest> = {}): Promise<PlaybackView> {
    return call(this.http, { method: 'POST', path: `/v1/streams/${id(streamId)}/playback`, json: request });
  }
}

/** What dispatchers see of the platform: reports, trails, schedules and functions. */
class Admin {
  constructor(private readonly http: MeshHttp) {}

  /** Per hour or per H3 cell of the pickup, at most 31 days. */
  dispatchReport(query: Span & { groupBy?: DispatchReportQuery['groupBy'] }): Promise<DispatchReport> {
    return call(this.http, { method: 'GET', path: '/v1/admin/reports/dispatch', query: reportQuery(query, 'json') });
  }

  /** The same report as CSV, with the file name the gateway gives the download. */
  async dispatchReportCsv(
    query: Span & { groupBy?: DispatchReportQuery['groupBy'] },
  ): Promise<{ csv: string; filename: string | null }> {
    const res = await this.http.request<string>({
      method: 'GET',
      path: '/v1/admin/reports/dispatch',
      query: reportQuery(query, 'csv'),
    });
    return { csv: res.body ?? '', filename: attachmentName(res.headers.get('content-disposition')) };
  }

  /** A courier's positions while on orders, as GeoJSON, at most 24 hours. */
  courierTrail(courierId: string, span: Span): Promise<CourierTrail> {
    return call(this.http, {
      method: 'GET',
      path: `/v1/admin/couriers/${id(courierId)}/trail`,
      query: { from: at(span.from), to: at(span.to) },
    });
  }

  schedules(): Promise<ScheduleList> {
    return call(this.http, { method: 'GET', path: '/v1/admin/schedules' });
  }

  functions(): Promise<FunctionHealthList> {
    return call(this.http, { method: 'GET', path: '/v1/admin/functions' });
  }

  activations(query: Optional<ActivationQuery> = {}): Promise<ActivationList> {
    return call(this.http, { method: 'GET', path: '/v1/admin/activations', query });
  }
}

/** Development tokens: only a gateway with `DEV_TOKENS=1` (the embedded default) has them; elsewhere `NotFoundError`. */
class DevTokens {
  constructor(private readonly http: MeshHttp) {}

  async issue(request: DevTokenRequest): Promise<string> {
    return (
      await call<{ token: string }>(this.http, {
        method: 'POST',
        path: '/v1/dev/tokens',
        json: request,
        anonymous: true,
      })
    ).token;
  }
}

function reportQuery(
  query: Span & { groupBy?: DispatchReportQuery['groupBy'] },
  format: DispatchReportQuery['format'],
): Record<string, QueryValue> {
  return { from: at(query.from), to: at(query.to), groupBy: query.groupBy ?? 'hour', format };
}

/** The file name a download asked for (`Content-Disposition`, RFC 6266), made safe to save; null when none. */
export function attachmentName(disposition: string | null): string | null {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? '');
  let name = match?.[1] ?? '';
  try {
    name = decodeURIComponent(name);
  } catch {
    // kept as it came
  }
  name = name.replace(/[\\/]/g, '_').trim();
  return name || null;
}

/** A fresh `Idempotency-Key`: 128 random bits, in hex. */
export function newIdempotencyKey(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
