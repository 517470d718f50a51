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
  handle(event: MeshEvent<T>): Promise<void>;
}

/** Injection token: the functions this process may host. */
export const MESH_FUNCTIONS = Symbol('MESH_FUNCTIONS');
