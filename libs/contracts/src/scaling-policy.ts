import { z } from 'zod';
import policyFile from './scaling-policy.json';
import { CronText, TimeZone } from './schedules';

/**
 * A time of day when a function runs warm whatever its lag, as KEDA's cron scaler
 * does: from each `start` until the next `end` (cron, in `timeZone`), at least `replicas`.
 */
export const WarmWindow = z.strictObject({
  name: z.string().min(1),
  timeZone: TimeZone,
  start: CronText,
  end: CronText,
  replicas: z.number().int().min(1),
});
export type WarmWindow = z.infer<typeof WarmWindow>;

/**
 * Scaling on live rooms (the mix): at least one replica per `roomsPerReplica` rooms asked to be
 * on air, and per `inputsPerReplica` co-hosts over all of them (each is an input to decode); none
 * when no room is live.
 */
export const RoomScaling = z.strictObject({
  roomsPerReplica: z.number().int().min(1),
  inputsPerReplica: z.number().int().min(1),
});
export type RoomScaling = z.infer<typeof RoomScaling>;

export const FunctionScaling = z
  .strictObject({
    minReplicas: z.number().int().min(0),
    maxReplicas: z.number().int().min(1),
    lagThreshold: z.number().int().min(1),
    activationLagThreshold: z.number().int().min(0),
    cooldownS: z.number().min(0),
    warm: z.array(WarmWindow).default([]),
    liveRooms: RoomScaling.optional(),
  })
  .refine((p) => p.minReplicas <= p.maxReplicas, 'minReplicas must not exceed maxReplicas');
export type FunctionScaling = z.infer<typeof FunctionScaling>;

export const ScalingPolicy = z.object({
  $comment: z.string().optional(),
  pollingIntervalS: z.number().positive(),
  functions: z.record(z.string(), FunctionScaling),
});
export type ScalingPolicy = z.infer<typeof ScalingPolicy>;

/** The policy in `scaling-policy.json`, validated. */
export const SCALING_POLICY: ScalingPolicy = ScalingPolicy.parse(policyFile);
