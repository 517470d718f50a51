import type { ProblemDetails } from '@mesh/contracts';

/**
 * A problem the API answered (RFC 9457, API.md "Conventions"), over REST or in a
 * socket acknowledgement. Catch the subclass for the status you handle, e.g.
 * `NotFoundError` for "not found or not yours", `ConflictError` for an offer that
 * expired, `RateLimitedError` for 429 (with `retryAfterS`).
 */
export class MeshApiError extends Error {
  override readonly name: string = 'MeshApiError';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** Each bad field of a 400: its path in the body or query, and what is wrong with it. */
  readonly errors: readonly { path: string; message: string }[];

  constructor(
    readonly problem: ProblemDetails,
    /** The gateway's `X-Request-Id` for this call (REST only), for support. */
    readonly requestId?: string,
    /** Seconds the gateway asked to wait before trying again (`Retry-After`), if it said. */
    readonly retryAfterS?: number,
  ) {
    super(problem.detail || problem.title);
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
  }
}

/** 400: the input broke the contract; `errors` names each bad field. */
export class BadRequestError extends MeshApiError {
  override readonly name = 'BadRequestError';
}
/** 401: no token, or one that is expired or not ours (after one refresh, when a token source can refresh). */
export class UnauthorizedError extends MeshApiError {
  override readonly name = 'UnauthorizedError';
}
/** 403: the caller's roles do not allow this. */
export class ForbiddenError extends MeshApiError {
  override readonly name = 'ForbiddenError';
}
/** 404: no such resource, or not the caller's. */
export class NotFoundError extends MeshApiError {
  override readonly name = 'NotFoundError';
}
/** 409: the resource's state does not allow it now (an offer expired, a busy courier going offline, …). */
export class ConflictError extends MeshApiError {
  override readonly name = 'ConflictError';
}
/** 413: the body is over its limit. */
export class PayloadTooLargeError extends MeshApiError {
  override readonly name = 'PayloadTooLargeError';
}
/** 415: the body's media type is not one the route takes. */
export class UnsupportedMediaTypeError extends MeshApiError {
  override readonly name = 'UnsupportedMediaTypeError';
}
/** 422: well-formed but not acceptable (outside the service area, an idempotency key reused with another body, …). */
export class UnprocessableError extends MeshApiError {
  override readonly name = 'UnprocessableError';
}
/** 429: too many requests; wait `retryAfterS`. */
export class RateLimitedError extends MeshApiError {
  override readonly name = 'RateLimitedError';
}
/** 503: a dependency of the gateway is down; nothing was done, try again. */
export class UnavailableError extends MeshApiError {
  override readonly name = 'UnavailableError';
}

const BY_STATUS: Record<number, typeof MeshApiError> = {
  400: BadRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  415: UnsupportedMediaTypeError,
  422: UnprocessableError,
  429: RateLimitedError,
  503: UnavailableError,
};

/** The typed error for a problem (a plain `MeshApiError` for a status without its own class). */
export function problemError(problem: ProblemDetails, requestId?: string, retryAfterS?: number): MeshApiError {
  const Type = BY_STATUS[problem.status] ?? MeshApiError;
  return new Type(problem, requestId, retryAfterS);
}

/** Whether `body` has the shape of problem details (what a proxy in between answers may not). */
export function isProblem(body: unknown): body is ProblemDetails {
  const p = body as Partial<ProblemDetails> | null;
  return typeof p === 'object' && p !== null && typeof p.status === 'number' && typeof p.title === 'string';
}

/** The gateway could not be reached (refused, reset, timed out) or answered something that is not the API. */
export class MeshConnectionError extends Error {
  override readonly name = 'MeshConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
