import { z } from 'zod';

/** A number from a query string (where everything is text), validated by `inner`. */
export const queryNumber = (inner: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), inner);
