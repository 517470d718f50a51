import type { MeshEvent } from '@mesh/bus';
import type { EventType, TopicKey } from '@mesh/contracts';

/**
 * A function of the mesh: a stateless handler bound to one topic through its
 * own consumer group. It receives only the event types it accepts, already
 * validated against their contract schemas.
 */
export interface MeshFunction<T extends EventType = EventType> {
  readonly name: string;
  readonly topic: TopicKey;
  readonly accepts: readonly T[];
  /**
   * `ledger` (default): the runtime remembers handled event ids, so a redelivered
   * event has no second effect. `natural`: the handler is idempotent by itself
   * (e.g. a position older than the stored one is ignored) and skips that cost.
   */
  readonly idempotency?: 'ledger' | 'natural';
  /** Which invocations are recorded: all (default) or only failures (for very hot functions). */
  readonly records?: 'all' | 'failures';
  /**
   * How long its events may wait to be fetched together while it is busy (default:
   * the bus's few milliseconds). Work nobody waits on by the millisecond (positions,
   * the route log) sets more, and takes its events in fewer, fuller batches: fewer
   * fetches, and one Redis or PostgreSQL call for what one tick gathers.
   */
  readonly fetchIntervalMs?: number;
  handle(event: MeshEvent<T>): Promise<void>;
  /** Called once this process hosts the function (after it subscribed): a function with long-running work picks it up again. */
  onHosted?(): Promise<void>;
  /**
   * Told, on joining its group and at every rebalance, which partition keys this replica
   * now owns: their events come only here until the next call. Long-running work kept
   * per key (a live mix) is taken up for the keys owned and let go for the others.
   */
  onAssigned?(owns: (key: string) => boolean): Promise<void>;
}

/** Injection token: the functions this process may host. */
export const MESH_FUNCTIONS = Symbol('MESH_FUNCTIONS');
