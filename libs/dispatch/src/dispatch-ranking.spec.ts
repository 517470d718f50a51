import { metresBetween, orderEta, radiusForAttempt, rankCandidates, travelSeconds } from './dispatch-ranking';

const pickup = { lat: 52.52, lng: 13.405 };
/** A point `metres` due east of the pickup. */
const east = (metres: number) => ({
  lat: pickup.lat,
  lng: pickup.lng + metres / (111_320 * Math.cos((pickup.lat * Math.PI) / 180)),
});

describe('dispatch ranking', () => {
  it('puts the courier who gets there first first, not merely the nearest', () => {
    const ranked = rankCandidates(pickup, [
      { id: 'bike-2km', ...east(2_000), vehicle: 'bicycle' },
      { id: 'car-3km', ...east(3_000), vehicle: 'car' },
      { id: 'walker-500m', ...east(500), vehicle: 'foot' },
    ]);
    expect(ranked.map((c) => c.id)).toEqual(['walker-500m', 'car-3km', 'bike-2km']);
    expect(ranked[1]!.distanceM).toBeCloseTo(3_000, -1);
    expect(ranked[1]!.etaS).toBe(travelSeconds(ranked[1]!.distanceM, 'car'));
  });

  it('leaves out excluded couriers and breaks ties by distance, then id', () => {
    const ranked = rankCandidates(
      pickup,
      [
        { id: 'b', ...east(1_000), vehicle: 'bicycle' },
        { id: 'a', ...east(1_000), vehicle: 'bicycle' },
        { id: 'declined', ...east(10), vehicle: 'bicycle' },
      ],
      new Set(['declined']),
    );
    expect(ranked.map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('widens the radius by doubling per attempt, up to the maximum', () => {
    const policy = { initialRadiusM: 2_000, maxRadiusM: 10_000 };
    expect([1, 2, 3, 4, 5].map((n) => radiusForAttempt(n, policy))).toEqual([2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('estimates the order: courier to pickup, then on to the dropoff', () => {
    const eta = orderEta(east(1_000), 'bicycle', pickup, east(-2_000));
    expect(eta.pickupS).toBe(travelSeconds(metresBetween(east(1_000), pickup), 'bicycle'));
    expect(eta.dropoffS).toBe(eta.pickupS + travelSeconds(metresBetween(pickup, east(-2_000)), 'bicycle'));
    expect(eta.pickupS).toBeGreaterThan(250);
    expect(eta.pickupS).toBeLessThan(400);
  });
});
