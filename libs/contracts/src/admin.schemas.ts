import { z } from 'zod';
import { queryNumber } from './query';

export const INVOCATION_OUTCOME_VALUES = ['ok', 'retried', 'error', 'dead-lettered', 'duplicate'] as const;

export const ActivationQuery = z.strictObject({
  function: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, 'not a function name')
    .optional(),
  outcome: z.enum(INVOCATION_OUTCOME_VALUES).optional(),
  limit: queryNumber(z.number().int().min(1).max(500)).default(50),
});
export type ActivationQuery = z.infer<typeof ActivationQuery>;

/** One function invocation, as `GET /v1/admin/activations` lists them. */
export const Activation = z.object({
  function: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  attempt: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number(),
  outcome: z.enum(INVOCATION_OUTCOME_VALUES),
  error: z.string().nullable(),
});
export const ActivationList = z.object({ items: z.array(Activation) });
export type ActivationList = z.infer<typeof ActivationList>;

/** One function as `GET /v1/admin/functions` shows it. */
export const FunctionHealth = z.object({
  function: z.string(),
  topic: z.string(),
  /** Members of its consumer group: replicas running, wherever (local scaler or Kubernetes). */
  replicas: z.number().int(),
  lag: z.number().int(),
  /** From the invocation records of the last 5 minutes (the location function records failures only). */
  invocationsPerMin: z.number(),
  errorsPerMin: z.number(),
  deadLetteredLast5Min: z.number().int(),
});
export const FunctionHealthList = z.object({ items: z.array(FunctionHealth) });
export type FunctionHealthList = z.infer<typeof FunctionHealthList>;
