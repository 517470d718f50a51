import { newId } from '@mesh/contracts';
import { ProblemCode, ProblemError } from '@mesh/problem';
import type { Metrics } from '@mesh/telemetry';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { RAW_BODY_ROUTE } from '../orders/proof.controller';
import { allowedMethods } from './allowed-methods';
import { RequestBudget, addressKey } from '../rate-limit/request-budget';
import { sendProblem, toProblemError } from './problem.filter';

export const BODY_LIMIT = '64kb';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echoes a sane client X-Request-Id or makes one; every response carries it. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.header('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : newId();
  req.headers['x-request-id'] = id;
  res.setHeader('X-Request-Id', id);
  next();
};

/** A body on a write must be JSON (415 otherwise); 64 KiB at most (413). */
export const jsonBody: RequestHandler[] = [
  (req, res, next) => {
    // A proof photo is streamed to storage as it comes (ProofController; the JSON parser below passes
    // over image types); nothing else takes a raw body.
    if (req.method === 'PUT' && RAW_BODY_ROUTE.test(req.path)) return next();
    const hasBody = Number(req.header('content-length') ?? 0) > 0 || req.header('transfer-encoding') !== undefined;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      // Only where a route would take the body: a method the path does not serve is a 405 (or a 404), whatever it sends.
      if (!allowedMethods(req).includes(req.method)) return next();
      sendProblem(res, new ProblemError(ProblemCode.UnsupportedMediaType, 'Send the body as application/json.'));
      return;
    }
    next();
  },
  express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }),
];

/** Renders body-parser failures as problems before Nest's router sees the request. */
export const bodyErrors: ErrorRequestHandler = (err, _req, res, next) => {
  const problem = toProblemError(err);
  if (!problem) {
    next(err);
    return;
  }
  sendProblem(res, problem);
};

/**
 * Charges every request without credentials (no Authorization header: players,
 * probes, docs, sign-in attempts) to its address's anonymous budget; 429 past it.
 * `/healthz` is free, for the orchestrator's probes.
 */
export function anonymousRequests(budget: RequestBudget): RequestHandler {
  return (req, res, next) => {
    if (req.headers.authorization !== undefined || req.path === '/healthz') {
      next();
      return;
    }
    budget.spend(addressKey(req.socket.remoteAddress)).then(
      () => next(),
      (err: unknown) => (err instanceof ProblemError ? sendProblem(res, err) : next(err)),
    );
  };
}

export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      stop({ method: req.method, route });
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
