import type { z } from 'zod';
import { problemFromZod } from './problem';

/** Validates untrusted input at a boundary: the parsed value, or a 400 ProblemError. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw problemFromZod(result.error, where);
  return result.data;
}
