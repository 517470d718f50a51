import { MeshConnectionError, isProblem, problemError } from './errors';
import { Tokens, type TokenSource } from './tokens';

/** How calls that failed for a passing reason (429, 503, no connection) are sent again. */
export interface RetryPolicy {
  /** Times a call is sent again at most (0: never). */
  attempts: number;
  /** The first wait, doubled each time with jitter, unless the gateway's `Retry-After` says longer. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 250, maxDelayMs: 5_000 };

export type QueryValue = string | number | boolean | null | undefined;

/** One HTTP exchange with the gateway. */
export interface MeshRequest {
  method: string;
  /** The path from the gateway's root, e.g. `/v1/orders`. */
  path: string;
  /** Added to the path; `undefined` and `null` values are left out. */
  query?: Readonly<Record<string, QueryValue>>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as is with its media type (photos), instead of `json`; a stream is sent as it is read, and only once. */
  body?: { data: Blob | ArrayBuffer | Uint8Array | string | ReadableStream<Uint8Array>; contentType: string };
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /** Without the bearer token (default: with it). */
  anonymous?: boolean;
  /**
   * Whether sending it twice does what sending it once does, so it may be sent
   * again (default: GET, HEAD, PUT, DELETE, and any call with an `Idempotency-Key`).
   */
  idempotent?: boolean;
  /** How to read the body: JSON when its type says so and text otherwise (default), or raw bytes. */
  read?: 'auto' | 'bytes';
}

/** What the gateway answered: its status, headers and body (parsed JSON, text, or bytes as asked). */
export interface MeshResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface MeshHttpOptions {
  /** The gateway's base URL, e.g. `https://api.example.com`; empty for the page's own origin (browser). */
  baseUrl: string;
  token?: TokenSource;
  retry?: Partial<RetryPolicy>;
  /** A `fetch` of your own (default: the global one). */
  fetch?: typeof fetch;
  /** Headers sent with every call (e.g. a user agent of your app). */
  headers?: Readonly<Record<string, string>>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * The REST transport of `@mesh/client`: the bearer token (refreshed once when the
 * gateway refuses it), problem+json answers as typed errors, and idempotent calls
 * sent again after a 429, a 503 or a lost connection, as long as `Retry-After` says.
 */
export class MeshHttp {
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  readonly tokens: Tokens;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: MeshHttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.tokens = new Tokens(options.token);
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /**
   * The call's answer, whatever its status: one exchange with the current token,
   * no refresh and no retry. Throws only when the gateway could not be reached.
   */
  async send<T = unknown>(request: MeshRequest): Promise<MeshResponse<T>> {
    const token = request.anonymous ? undefined : await this.tokens.get();
    return this.exchange<T>(request, token);
  }

  /**
   * The call's successful answer; any other throws its typed `MeshApiError`.
   * A refused token is refreshed once; a passing failure is retried when the call is idempotent.
   */
  async request<T = unknown>(request: MeshRequest): Promise<MeshResponse<T>> {
    // A stream is read once: a call that sends one cannot be sent again.
    const streamed = isStream(request.body?.data);
    const idempotent =
      !streamed && (request.idempotent ?? (SAFE_METHODS.has(request.method) || hasIdempotencyKey(request)));
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const token = request.anonymous ? undefined : await this.tokens.get();
      let res: MeshResponse<T>;
      try {
        res = await this.exchange<T>(request, token);
      } catch (err) {
        if (!idempotent || attempt >= this.retry.attempts || request.signal?.aborted) throw err;
        await pause(this.backoffMs(attempt), request.signal);
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (res.status === 401 && !refreshed && !streamed && !request.anonymous && this.tokens.refreshable) {
        refreshed = true;
        await this.tokens.refresh(token);
        attempt--;
        continue;
      }
      const retryAfterS = retryAfterOf(res.headers);
      if ((res.status === 429 || res.status === 503) && idempotent && attempt < this.retry.attempts) {
        await pause(Math.max(this.backoffMs(attempt), (retryAfterS ?? 0) * 1_000), request.signal);
        continue;
      }
      throw this.failure(request, res, retryAfterS);
    }
  }

  /** The absolute URL of a path on the gateway (or `url` itself when absolute). */
  url(path: string, query?: MeshRequest['query']): string {
    const base = /^[a-z][a-z0-9+.-]*:/i.test(path) ? path : `${this.baseUrl}${path}`;
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value != null) params.append(key, String(value));
    const search = params.toString();
    return search ? `${base}${base.includes('?') ? '&' : '?'}${search}` : base;
  }

  private async exchange<T>(request: MeshRequest, token: string | undefined): Promise<MeshResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: RequestInit['body'];
    if (request.body) {
      headers['content-type'] = request.body.contentType;
      body = request.body.data as RequestInit['body'];
    } else if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    Object.assign(headers, request.headers);
    let res: Response;
    try {
      res = await this.fetchFn(this.url(request.path, request.query), {
        method: request.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        // Fetch sends a stream only half-duplex (the answer is read after the body is sent).
        ...(isStream(body) ? { duplex: 'half' } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (err) {
      if (request.signal?.aborted) throw err;
      throw new MeshConnectionError(`${request.method} ${request.path}: the gateway could not be reached`, {
        cause: err,
      });
    }
    try {
      return { status: res.status, headers: res.headers, body: (await readBody(res, request.read)) as T };
    } catch (err) {
      if (request.signal?.aborted) throw err;
      // The answer broke off while it was read (a reset, the gateway going away).
      throw new MeshConnectionError(`${request.method} ${request.path}: the answer broke off`, { cause: err });
    }
  }

  private failure(request: MeshRequest, res: MeshResponse, retryAfterS: number | undefined): Error {
    const requestId = res.headers.get('x-request-id') ?? undefined;
    if (isProblem(res.body)) return problemError(res.body, requestId, retryAfterS);
    // Not the API's own answer (a proxy in between, or a route outside /v1): the same error, titled by its status.
    return problemError(
      {
        type: 'about:blank',
        title: `HTTP ${res.status}`,
        status: res.status,
        detail: `${request.method} ${request.path} answered ${res.status}`,
      },
      requestId,
      retryAfterS,
    );
  }

  private backoffMs(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.retry;
    return Math.min(maxDelayMs, baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
  }
}

function isStream(data: unknown): data is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== 'undefined' && data instanceof ReadableStream;
}

function hasIdempotencyKey(request: MeshRequest): boolean {
  return Object.keys(request.headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key');
}

async function readBody(res: Response, read: MeshRequest['read']): Promise<unknown> {
  if (read === 'bytes') return new Uint8Array(await res.arrayBuffer());
  const text = await res.text();
  if (!text) return undefined;
  if (!/[/+]json\b/.test(res.headers.get('content-type') ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), if the answer carries one. */
function retryAfterOf(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1_000));
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
