import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Credentials that must never reach a log line, wherever a request or its
 * headers are logged (pino-http's `req`, a handshake, an error carrying a request).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.params.token',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'handshake.auth.token',
  'auth.token',
] as const;

/** The process's structured JSON logger; child loggers carry request and event ids. */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    base: { app: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  });
}
