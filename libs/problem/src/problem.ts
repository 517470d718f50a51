import type { ProblemDetails } from '@mesh/contracts';
import type { ZodError } from 'zod';

export enum ProblemCode {
  InvalidInput = 'invalid-input',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not-found',
  MethodNotAllowed = 'method-not-allowed',
  Conflict = 'conflict',
  PayloadTooLarge = 'payload-too-large',
  UnsupportedMediaType = 'unsupported-media-type',
  Unprocessable = 'unprocessable',
  TooManyRequests = 'too-many-requests',
  DependencyDown = 'dependency-down',
  Internal = 'internal',
}

const STATUS: Readonly<Record<ProblemCode, { status: number; title: string }>> = {
  [ProblemCode.InvalidInput]: { status: 400, title: 'Invalid input' },
  [ProblemCode.Unauthorized]: { status: 401, title: 'Unauthorized' },
  [ProblemCode.Forbidden]: { status: 403, title: 'Forbidden' },
  [ProblemCode.NotFound]: { status: 404, title: 'Not found' },
  [ProblemCode.MethodNotAllowed]: { status: 405, title: 'Method not allowed' },
  [ProblemCode.Conflict]: { status: 409, title: 'Conflict' },
  [ProblemCode.PayloadTooLarge]: { status: 413, title: 'Payload too large' },
  [ProblemCode.UnsupportedMediaType]: { status: 415, title: 'Unsupported media type' },
  [ProblemCode.Unprocessable]: { status: 422, title: 'Unprocessable' },
  [ProblemCode.TooManyRequests]: { status: 429, title: 'Too many requests' },
  [ProblemCode.DependencyDown]: { status: 503, title: 'Service unavailable' },
  [ProblemCode.Internal]: { status: 500, title: 'Internal error' },
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error the API reports to its caller as problem details. Thrown by services, rendered by the edge. */
export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: { path: string; message: string }[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.status = STATUS[code].status;
    this.title = STATUS[code].title;
  }

  toProblem(): ProblemDetails {
    return {
      type: `/problems/${this.code}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export const problems = {
  invalid: (detail: string, errors?: { path: string; message: string }[]) =>
    new ProblemError(ProblemCode.InvalidInput, detail, errors),
  /** RFC 6750: a 401 names its scheme; `invalid_token` when a token was given but refused. */
  unauthorized: (detail = 'A valid bearer token is required.', error?: 'invalid_token') =>
    new ProblemError(ProblemCode.Unauthorized, detail, undefined, {
      'WWW-Authenticate': `Bearer realm="dispatch-mesh"${error ? `, error="${error}"` : ''}`,
    }),
  forbidden: (detail = 'Your roles do not allow this.') => new ProblemError(ProblemCode.Forbidden, detail),
  notFound: (detail = 'Not found.') => new ProblemError(ProblemCode.NotFound, detail),
  /** RFC 9110: a 405 says which methods the resource has. */
  methodNotAllowed: (method: string, allow: readonly string[]) =>
    new ProblemError(
      ProblemCode.MethodNotAllowed,
      `${method} is not served here; ${allow.join(', ')} are.`,
      undefined,
      {
        Allow: allow.join(', '),
      },
    ),
  conflict: (detail: string) => new ProblemError(ProblemCode.Conflict, detail),
  unprocessable: (detail: string) => new ProblemError(ProblemCode.Unprocessable, detail),
  dependencyDown: (detail: string) => new ProblemError(ProblemCode.DependencyDown, detail),
  internal: () => new ProblemError(ProblemCode.Internal, 'Something went wrong on our side; it has been logged.'),
};

/** A zod failure as a 400 problem naming each bad field. */
export function problemFromZod(error: ZodError, where = 'body'): ProblemError {
  const errors = error.issues.flatMap((issue) => {
    const path = [where, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'unknown field' }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
  return problems.invalid(`The ${where} is not valid.`, errors);
}

/** The part of an HTTP response (Express's) a problem is written to. */
export interface ProblemResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): ProblemResponse;
  type(contentType: string): ProblemResponse;
  send(body: string): unknown;
}

/** Writes a problem as `application/problem+json`, with its headers (Retry-After, WWW-Authenticate). */
export function sendProblem(res: ProblemResponse, problem: ProblemError): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.toProblem()));
}
