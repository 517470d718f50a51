import type { FunctionScaling } from '@mesh/contracts';
import type { LiveLoad } from '@mesh/streams';
import { latestTick } from '@mesh/schedules';

export interface ScalingState {
  replicas: number;
  /** Recent recommendations, newest last, kept for one cooldown. */
  recommendations: readonly { atMs: number; replicas: number }[];
}

export const IDLE: ScalingState = { replicas: 0, recommendations: [] };

/**
 * The replicas the lag calls for right now (KEDA's Kafka-trigger arithmetic) and, for a
 * function scaled on live rooms, what the rooms and their co-hosts call for (its
 * Prometheus triggers): the most of them, as KEDA takes the most of its triggers.
 */
export function recommendReplicas(
  lag: number,
  current: number,
  policy: FunctionScaling,
  partitions: number,
  rooms: LiveLoad | null = null,
): number {
  const ceiling = Math.min(policy.maxReplicas, partitions);
  let target: number;
  // At zero, only lag above the activation threshold wakes the function.
  if (current === 0 && lag <= policy.activationLagThreshold) target = 0;
  else target = lag > 0 ? Math.max(1, Math.ceil(lag / policy.lagThreshold)) : 0;
  if (policy.liveRooms && rooms) {
    const { roomsPerReplica, inputsPerReplica } = policy.liveRooms;
    target = Math.max(target, Math.ceil(rooms.rooms / roomsPerReplica), Math.ceil(rooms.inputs / inputsPerReplica));
  }
  return Math.min(ceiling, Math.max(policy.minReplicas, target));
}

/**
 * How many replicas a function should run, given its consumer lag now. Pure.
 * Up at once to what the lag calls for; down only to the highest recommendation
 * of the last cooldown (the stabilisation window of Kubernetes' HPA, which KEDA
 * uses), so a lag that dips to zero between commits of a steady stream does not
 * take its last replica away. Never more replicas than partitions.
 */
export function decideReplicas(
  state: ScalingState,
  lag: number,
  nowMs: number,
  policy: FunctionScaling,
  partitions: number,
  rooms: LiveLoad | null = null,
): ScalingState {
  const recommended = recommendReplicas(lag, state.replicas, policy, partitions, rooms);
  const windowStart = nowMs - policy.cooldownS * 1000;
  const recommendations = [
    ...state.recommendations.filter((r) => r.atMs > windowStart),
    { atMs: nowMs, replicas: recommended },
  ];
  if (recommended >= state.replicas) return { replicas: recommended, recommendations };
  // Scaling down: not below anything recommended within the window, and not before a whole window was seen.
  const seenWholeWindow = state.recommendations.some((r) => r.atMs <= windowStart + 1);
  const floor = Math.max(...recommendations.map((r) => r.replicas));
  return { replicas: seenWholeWindow ? Math.min(state.replicas, floor) : state.replicas, recommendations };
}

/**
 * The policy in force at `nowMs`: inside a warm window (its latest start is more recent
 * than its latest end) at least that window's replicas, whatever the lag, as KEDA's cron
 * trigger does beside the Kafka one.
 */
export function policyAt(policy: FunctionScaling, nowMs: number): FunctionScaling {
  let minReplicas = policy.minReplicas;
  for (const w of policy.warm) {
    const started = latestTick({ cron: w.start, intervalS: null, timeZone: w.timeZone }, nowMs);
    const ended = latestTick({ cron: w.end, intervalS: null, timeZone: w.timeZone }, nowMs);
    if (started > ended) minReplicas = Math.max(minReplicas, Math.min(w.replicas, policy.maxReplicas));
  }
  return { ...policy, minReplicas };
}
