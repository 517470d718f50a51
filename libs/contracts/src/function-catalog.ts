import type { TopicKey } from './topics';

/**
 * The functions of the mesh and their topics, known without starting them (the
 * scaler and the Kubernetes renderer read it). `deadlines` is not a consumer but
 * the always-on timers: the sweeper of dispatch deadlines and the scheduler that
 * fires the schedules; it never scales to zero, since an offer must expire and a
 * schedule fire even while no replica of their functions runs.
 */
export const FUNCTION_CATALOG = [
  { name: 'location', topic: 'couriers' },
  { name: 'dispatch', topic: 'orders' },
  { name: 'order-updates', topic: 'orders' },
  { name: 'mix', topic: 'streams' },
  { name: 'housekeeping', topic: 'schedules' },
  { name: 'archive', topic: 'orders' },
  { name: 'trail', topic: 'couriers' },
  { name: 'media', topic: 'media' },
] as const satisfies readonly { name: string; topic: TopicKey }[];

/** Each function consumes through its own consumer group, named so (KEDA's trigger names it too). */
export const FUNCTION_GROUP_PREFIX = 'mesh.fn.';
export const functionGroup = (name: string) => `${FUNCTION_GROUP_PREFIX}${name}`;

export type FunctionName = (typeof FUNCTION_CATALOG)[number]['name'];
export const DEADLINES = 'deadlines';
export const PROCESS_ROLES: readonly string[] = [...FUNCTION_CATALOG.map((f) => f.name), DEADLINES];
