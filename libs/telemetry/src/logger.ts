import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** The process's structured JSON logger; child loggers carry request and event ids. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { app: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
