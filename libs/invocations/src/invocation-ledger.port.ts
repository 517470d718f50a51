import { INVOCATION_OUTCOME_VALUES } from '@mesh/contracts';

export const INVOCATION_OUTCOMES = INVOCATION_OUTCOME_VALUES;
/**
 * ok: handled on the first attempt; retried: handled after earlier attempts failed;
 * error: failed, will be delivered again; dead-lettered: given up on (last attempt or
 * broken contract); duplicate: already handled, skipped without a second effect.
 */
export type InvocationOutcome = (typeof INVOCATION_OUTCOMES)[number];

/** One invocation of a function on an event, as OpenWhisk keeps its activations. */
export interface InvocationRecord {
  function: string;
  eventId: string;
  eventType: string;
  attempt: number;
  startedAt: string;
  durationMs: number;
  outcome: InvocationOutcome;
  error: string | null;
}

export type Claim = 'run' | 'done' | 'busy';

export interface RecordFilter {
  function?: string;
  outcome?: InvocationOutcome;
  limit: number;
}

/** Invocation records kept: the newest this many (and none older than a day, in memory). */
export const MAX_RECORDS = 100_000;
export const RECORD_RETENTION_MS = 24 * 3600_000;

/**
 * How long a handled event id is remembered. Redeliveries come within seconds of
 * the first delivery (uncommitted positions after a crash or a rebalance), so
 * minutes cover them without keeping a key per event for a day (at 2,000 events/s
 * that would be 170 million keys).
 */
export const IDEMPOTENCY_WINDOW_MS = 15 * 60_000;

/**
 * What the function runtime remembers about invocations: which events each
 * function has handled (so a redelivered event has no second effect) and a
 * bounded history of invocations.
 */
export abstract class InvocationLedger {
  /**
   * Claims an event for a function for `leaseMs`: `run` (go ahead), `done` (it had
   * its effect already), or `busy` (another worker holds the claim right now).
   */
  abstract claim(fn: string, eventId: string, leaseMs: number): Promise<Claim>;
  /**
   * The worker running the event is still at it: its claim lasts `leaseMs` from
   * now. A claim that is no longer `run` (completed, released) is left alone.
   * Workers renew while they run, so a lease can be short and a dead worker's
   * events are taken over soon.
   */
  abstract extend(fn: string, eventId: string, leaseMs: number): Promise<void>;
  /** The event had its effect; remembered for `keepMs`. */
  abstract complete(fn: string, eventId: string, keepMs: number): Promise<void>;
  /** The attempt failed; the claim is released so a retry can run. */
  abstract release(fn: string, eventId: string): Promise<void>;
  abstract record(record: InvocationRecord): Promise<void>;
  /** Newest first. */
  abstract recent(filter: RecordFilter): Promise<InvocationRecord[]>;
  /** Forgets the records made before `beforeMs`; answers how many went. */
  abstract trimBefore(beforeMs: number): Promise<number>;
}
