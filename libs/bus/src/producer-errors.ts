/**
 * Errors after which an idempotent producer cannot send again: its sequence numbers no
 * longer match the broker's (a request the dying leader took but whose answer was lost, so
 * the client rolled its numbers back), or the broker no longer knows its producer id. Every
 * later send fails the same way until a new producer (a new id) starts the numbers again.
 */
const OUT_OF_STEP = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

/** Whether `err` (or what it wraps: kafkajs' retriers keep the first failure as `cause`) is one of those. */
export function producerOutOfStep(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && OUT_OF_STEP.has(type)) return true;
  }
  return false;
}
