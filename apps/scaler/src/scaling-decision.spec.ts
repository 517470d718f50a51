import { IDLE, decideReplicas, policyAt, type ScalingState } from './scaling-decision';

const policy = {
  minReplicas: 0,
  maxReplicas: 4,
  lagThreshold: 100,
  activationLagThreshold: 5,
  cooldownS: 30,
  warm: [],
};

/** Feeds lag samples (ms, lag) through the decision, answering the replicas after each. */
function run(samples: [number, number][], partitions = 12, from: ScalingState = IDLE): number[] {
  let state = from;
  return samples.map(([at, lag]) => {
    state = decideReplicas(state, lag, at, policy, partitions);
    return state.replicas;
  });
}

describe('scaling decisions', () => {
  it('stays at zero up to the activation threshold and wakes above it', () => {
    expect(run([[1_000, 5]])).toEqual([0]);
    expect(run([[1_000, 6]])).toEqual([1]);
  });

  it('targets one replica per lagThreshold of lag, up to the maximum and the partitions', () => {
    expect(run([[1_000, 250]])).toEqual([3]);
    expect(run([[1_000, 10_000]])).toEqual([4]);
    expect(run([[1_000, 10_000]], 2)).toEqual([2]);
    expect(decideReplicas(IDLE, 0, 1_000, { ...policy, minReplicas: 1 }, 12).replicas).toBe(1);
  });

  it('scales up at once but down only to the highest recommendation of the last cooldown', () => {
    expect(
      run([
        [0, 400], // 4
        [10_000, 50], // wants 1, too soon
        [29_000, 50],
        [31_000, 50], // a whole window of 1s since the 4: down to 1
        [40_000, 0],
        [59_000, 0],
        [61_500, 0], // the 1 of 31 s has left the window: 0
      ]),
    ).toEqual([4, 4, 4, 1, 1, 1, 0]);
  });

  it('keeps the last replica of a steady stream whose lag dips to zero between commits', () => {
    const samples: [number, number][] = Array.from({ length: 120 }, (_, i) => [i * 1_000, i % 3 === 2 ? 0 : 60]);
    expect(new Set(run(samples))).toEqual(new Set([1]));
  });

  it('scales a function on live rooms and their co-hosts: none without a room, the most any measure calls for', () => {
    const mix = { ...policy, minReplicas: 0, maxReplicas: 8, liveRooms: { roomsPerReplica: 4, inputsPerReplica: 12 } };
    const at = (state: ScalingState, rooms: number, inputs: number, lag = 0, ms = 1_000) =>
      decideReplicas(state, lag, ms, mix, 12, { rooms, inputs });
    expect(at(IDLE, 0, 0).replicas).toBe(0);
    // One room wakes it, with no lag at all; five rooms call for two replicas, 30 co-hosts over them for three.
    expect(at(IDLE, 1, 2).replicas).toBe(1);
    expect(at(IDLE, 5, 10).replicas).toBe(2);
    expect(at(IDLE, 5, 30).replicas).toBe(3);
    // A burst of requests may call for more than the rooms do; the maximum and the partitions still bound it.
    expect(at(IDLE, 1, 1, 500).replicas).toBe(5);
    expect(at(IDLE, 1, 1, 5_000).replicas).toBe(8);
    expect(decideReplicas(IDLE, 0, 1_000, mix, 2, { rooms: 20, inputs: 20 }).replicas).toBe(2);
    // The rooms stop: down only after a whole cooldown, as for lag.
    const busy = at(IDLE, 5, 10, 0, 0);
    expect(at(busy, 0, 0, 0, 10_000).replicas).toBe(2);
    expect(at(at(busy, 0, 0, 0, 10_000), 0, 0, 0, 41_000).replicas).toBe(0);
    // A policy without liveRooms ignores them.
    expect(decideReplicas(IDLE, 0, 1_000, policy, 12, { rooms: 9, inputs: 9 }).replicas).toBe(0);
  });

  it('runs warm through a declared window whatever the lag (weekday lunch in Berlin), and as usual outside it', () => {
    const lunch = {
      name: 'lunch',
      timeZone: 'Europe/Berlin',
      start: '30 11 * * 1-5',
      end: '0 14 * * 1-5',
      replicas: 2,
    };
    const warm = { ...policy, warm: [lunch] };
    // Friday 4 December 2026: Berlin is UTC+1.
    const at = (utc: string) => Date.parse(`2026-12-04T${utc}Z`);
    expect(policyAt(warm, at('10:29:00')).minReplicas).toBe(0);
    expect(policyAt(warm, at('10:30:00')).minReplicas).toBe(2);
    expect(decideReplicas(IDLE, 0, at('12:00:00'), policyAt(warm, at('12:00:00')), 12).replicas).toBe(2);
    expect(policyAt(warm, at('13:00:00')).minReplicas).toBe(0);
    // Saturday: no lunch rush declared.
    expect(policyAt(warm, Date.parse('2026-12-05T11:00:00Z')).minReplicas).toBe(0);
    // Never above the maximum.
    expect(policyAt({ ...warm, maxReplicas: 1 }, at('12:00:00')).minReplicas).toBe(1);
  });
});
