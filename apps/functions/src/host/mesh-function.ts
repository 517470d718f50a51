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
  handle(event: MeshEvent<T>): Promise<void>;
  /** Called once this process hosts the function (after it subscribed): a function with long-running work picks it up again. */
  onHosted?(): Promise<void>;
}

/** Injection token: the functions this process may host. */
export const MESH_FUNCTIONS = Symbol('MESH_FUNCTIONS');
