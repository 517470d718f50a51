import { decideReplicas, type ScalingState } from './scaling-decision';

const policy = { minReplicas: 0, maxReplicas: 4, lagThreshold: 100, activationLagThreshold: 5, cooldownS: 30 };
const idle: ScalingState = { replicas: 0, lastBusyAtMs: 0 };

describe('scaling decisions', () => {
  it('stays at zero below the activation threshold and wakes above it', () => {
    expect(decideReplicas(idle, 5, 1_000, policy, 12).replicas).toBe(0);
    expect(decideReplicas(idle, 6, 1_000, policy, 12).replicas).toBe(1);
  });

  it('targets one replica per lagThreshold of lag, up to the maximum and the partitions', () => {
    expect(decideReplicas(idle, 250, 1_000, policy, 12).replicas).toBe(3);
    expect(decideReplicas(idle, 10_000, 1_000, policy, 12).replicas).toBe(4);
    expect(decideReplicas(idle, 10_000, 1_000, { ...policy, maxReplicas: 20 }, 2).replicas).toBe(2);
    expect(decideReplicas(idle, 0, 1_000, { ...policy, minReplicas: 1 }, 12).replicas).toBe(1);
  });

  it('scales up at once but down only after the cooldown, and to zero when idle', () => {
    const busy = decideReplicas(idle, 400, 1_000, policy, 12);
    expect(busy.replicas).toBe(4);
    const quieter = decideReplicas(busy, 50, 20_000, policy, 12);
    expect(quieter).toEqual(busy);
    const calm = decideReplicas(quieter, 50, 31_001, policy, 12);
    expect(calm.replicas).toBe(1);
    const stillOne = decideReplicas(calm, 0, 40_000, policy, 12);
    expect(stillOne.replicas).toBe(1);
    expect(decideReplicas(stillOne, 0, 61_002, policy, 12).replicas).toBe(0);
  });

  it('restarts the cooldown whenever the lag needs the current replicas again', () => {
    const two = decideReplicas(idle, 200, 0, policy, 12);
    const busyAgain = decideReplicas(two, 180, 25_000, policy, 12);
    expect(busyAgain).toEqual({ replicas: 2, lastBusyAtMs: 25_000 });
    expect(decideReplicas(busyAgain, 0, 40_000, policy, 12).replicas).toBe(2);
  });
});
