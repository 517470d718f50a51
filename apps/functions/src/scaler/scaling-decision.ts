import type { FunctionScaling } from '@mesh/contracts';

export interface ScalingState {
  replicas: number;
  /** When lag last justified the current replica count (or more); scale-down waits a cooldown from here. */
  lastBusyAtMs: number;
}

/**
 * How many replicas a function should run, given its consumer lag now. Pure:
 * KEDA's rules for the Kafka trigger, so both scalers behave alike:
 * - at zero, wake only when lag exceeds the activation threshold;
 * - otherwise target ceil(lag / lagThreshold) replicas, within [min, max];
 * - scale up at once, scale down only once the target has stayed lower for the cooldown;
 * - never more replicas than partitions (an idle consumer would only slow rebalances).
 */
export function decideReplicas(
  state: ScalingState,
  lag: number,
  nowMs: number,
  policy: FunctionScaling,
  partitions: number,
): ScalingState {
  const ceiling = Math.min(policy.maxReplicas, partitions);
  let target: number;
  if (lag <= policy.activationLagThreshold) target = state.replicas === 0 ? 0 : Math.ceil(lag / policy.lagThreshold);
  else target = Math.max(1, Math.ceil(lag / policy.lagThreshold));
  target = Math.min(ceiling, Math.max(policy.minReplicas, target));

  if (target >= state.replicas) {
    return { replicas: target, lastBusyAtMs: target > 0 || state.replicas > 0 ? nowMs : state.lastBusyAtMs };
  }
  if (nowMs - state.lastBusyAtMs < policy.cooldownS * 1000) return state;
  return { replicas: target, lastBusyAtMs: nowMs };
}
