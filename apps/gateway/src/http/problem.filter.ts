import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { ProblemCode, ProblemError, problems, sendProblem } from '@mesh/problem';
import { StateUnavailable } from '@mesh/dispatch';
import { isRedisUnavailable } from '@mesh/redis';
import { LOGGER, type Logger } from '@mesh/telemetry';
import type { Request, Response } from 'express';
import { allowedMethods } from './allowed-methods';

const FROM_HTTP_STATUS: Readonly<Record<number, ProblemCode>> = {
  400: ProblemCode.InvalidInput,
  401: ProblemCode.Unauthorized,
  403: ProblemCode.Forbidden,
  404: ProblemCode.NotFound,
  409: ProblemCode.Conflict,
  413: ProblemCode.PayloadTooLarge,
  415: ProblemCode.UnsupportedMediaType,
  422: ProblemCode.Unprocessable,
  429: ProblemCode.TooManyRequests,
  503: ProblemCode.DependencyDown,
};

/** Turns anything thrown while serving HTTP into an RFC 9457 problem response. */
export function toProblemError(err: unknown): ProblemError | undefined {
  if (err instanceof ProblemError) return err;
  if (err instanceof HttpException) {
    const code = FROM_HTTP_STATUS[err.getStatus()];
    if (code) return new ProblemError(code, err.getStatus() === 404 ? 'No such route or resource.' : err.message);
  }
  if (isRedisUnavailable(err)) return problems.dependencyDown('Live state (Redis) is not answering; retry shortly.');
  if (err instanceof StateUnavailable) {
    return problems.dependencyDown('Live state is being restored from the event log; retry shortly.');
  }
  // body-parser marks its errors with a string `type`.
  const bodyParserType = (err as { type?: unknown } | null)?.type;
  switch (typeof bodyParserType === 'string' ? bodyParserType : '') {
    case 'entity.parse.failed':
      return problems.invalid('The body is not valid JSON.', [{ path: 'body', message: 'malformed JSON' }]);
    case 'entity.too.large':
      return new ProblemError(ProblemCode.PayloadTooLarge, 'The body is larger than 64 KiB.');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ProblemError(ProblemCode.UnsupportedMediaType, 'Only UTF-8 JSON bodies are accepted.');
    default:
      return undefined;
  }
}

export { sendProblem };

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    let problem = toProblemError(err);
    // No route took the request (Nest's own 404): a path served with other methods is a 405.
    if (err instanceof HttpException && err.getStatus() === 404) {
      const req = http.getRequest<Request>();
      const allow = allowedMethods(req);
      if (allow.length > 0) problem = problems.methodNotAllowed(req.method, allow);
    }
    if (!problem) {
      this.logger.error({ err, requestId: res.getHeader('x-request-id') }, 'unhandled error');
      problem = problems.internal();
    }
    sendProblem(res, problem);
  }
}
