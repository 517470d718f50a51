import type { CourierGeoRepository, Markets } from '@mesh/geo';
import { distance, point } from '@turf/turf';
import { uniqueName } from '@mesh/harness';

export interface GeoUnderTest {
  repo: CourierGeoRepository;
  /** The markets it keeps (the test markets: west and east of the prime meridian). */
  markets: Markets;
  dispose(): Promise<void>;
}

/** Metres between two points on the WGS84 sphere, the reference the adapters are held to. */
function metres(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  return distance(point([a.lng, a.lat]), point([b.lng, b.lat]), { units: 'meters' });
}

/** The behaviour every CourierGeoRepository adapter must have. Run against each adapter. */
export function courierGeoContract(adapter: string, create: () => Promise<GeoUnderTest>): void {
  describe(`CourierGeoRepository contract: ${adapter}`, () => {
    let under: GeoUnderTest;
    // Each test works around its own random spot, so tests sharing one Redis never meet.
    let centre: { lat: number; lng: number };
    let market: string;
    beforeEach(async () => {
      under = await create();
      // Away from the border at the prime meridian, on either side.
      const side = Math.random() < 0.5 ? -1 : 1;
      centre = { lat: -60 + Math.random() * 120, lng: side * (1 + Math.random() * 170) };
      market = under.markets.of(centre)!;
    });
    afterEach(() => under.dispose());

    const at = (secondsAgo = 0) => new Date(Date.now() - secondsAgo * 1000).toISOString();
    const offset = (northM: number, eastM: number) => ({
      lat: centre.lat + northM / 111_320,
      lng: centre.lng + eastM / (111_320 * Math.cos((centre.lat * Math.PI) / 180)),
    });

    it('knows nothing of a courier it has never heard of: offline, no location', async () => {
      const id = uniqueName('courier');
      await expect(under.repo.get(id)).resolves.toEqual({ id, status: 'offline', location: null, activeOrderId: null });
    });

    it('finds online couriers nearest first with their distances, and leaves out the far and the offline', async () => {
      const spots = { near: offset(120, 0), mid: offset(0, 900), far: offset(4_000, 0), off: offset(50, 50) };
      const ids = Object.fromEntries(Object.keys(spots).map((k) => [k, uniqueName(k)])) as Record<
        keyof typeof spots,
        string
      >;
      for (const key of ['near', 'mid', 'far'] as const) {
        await under.repo.setAvailability(ids[key], true);
        await under.repo.recordLocation(ids[key], { ...spots[key], at: at() });
      }
      await under.repo.recordLocation(ids.off, { ...spots.off, at: at() });

      const found = await under.repo.nearby({ ...centre, radiusM: 2_000, limit: 10 });

      expect(found.map((c) => c.id)).toEqual([ids.near, ids.mid]);
      expect(found[0]!.distanceM).toBeCloseTo(metres(centre, spots.near), -1);
      expect(found[1]!.distanceM).toBeCloseTo(metres(centre, spots.mid), -1);
      expect(Math.abs(found[1]!.distanceM - metres(centre, spots.mid)) / metres(centre, spots.mid)).toBeLessThan(0.005);
      expect(found[0]).toMatchObject({ status: 'available', location: { lat: spots.near.lat, lng: spots.near.lng } });
    });

    it('honours the limit', async () => {
      for (let i = 1; i <= 5; i++) {
        const id = uniqueName('c');
        await under.repo.setAvailability(id, true);
        await under.repo.recordLocation(id, { ...offset(i * 10, 0), at: at() });
      }
      await expect(under.repo.nearby({ ...centre, radiusM: 1_000, limit: 3 })).resolves.toHaveLength(3);
    });

    it('ignores a fix older than the one it has', async () => {
      const id = uniqueName('courier');
      await under.repo.setAvailability(id, true);
      const newer = { ...offset(10, 0), at: at(1) };
      await expect(under.repo.recordLocation(id, newer)).resolves.toEqual({ activeOrderId: null });
      await expect(under.repo.recordLocation(id, { ...offset(500, 0), at: at(30) })).resolves.toBeNull();
      expect((await under.repo.get(id)).location).toEqual({ lat: newer.lat, lng: newer.lng, at: newer.at });
    });

    it('records fixes of many couriers sent at once, each on its own, an older one among them ignored', async () => {
      const ids = Array.from({ length: 30 }, () => uniqueName('courier'));
      await Promise.all(ids.slice(0, 20).map((id) => under.repo.setAvailability(id, true)));
      const fixes = ids.map((id, i) => ({ id, fix: { ...offset(i * 10, 0), at: at(5) } }));
      const answers = await Promise.all([
        ...fixes.map(({ id, fix }) => under.repo.recordLocation(id, fix)),
        // The same courier again, with a fix older than the one sent just before it.
        under.repo.recordLocation(ids[0]!, { ...offset(900, 0), at: at(60) }),
      ]);
      expect(answers).toEqual([...ids.map(() => ({ activeOrderId: null })), null]);
      expect((await under.repo.get(ids[0]!)).location).toMatchObject({ lat: fixes[0]!.fix.lat });
      // Only the available ones (the first 20) are offered to dispatch; the rest are stored, not indexed.
      const free = await under.repo.nearestAvailable({ ...centre, market, radiusM: 1_000, limit: 50 });
      expect(free.map((c) => c.id).sort()).toEqual(ids.slice(0, 20).sort());
      expect((await under.repo.get(ids[25]!)).location).toMatchObject({ lng: fixes[25]!.fix.lng });
    });

    it('indexes a courier who goes available with a known position, and drops one who goes offline', async () => {
      const id = uniqueName('courier');
      await under.repo.recordLocation(id, { ...offset(30, 0), at: at() });
      expect(await under.repo.nearby({ ...centre, radiusM: 500, limit: 5 })).toEqual([]);

      const online = await under.repo.setAvailability(id, true);
      expect(online).toMatchObject({ outcome: 'ok', courier: { id, status: 'available' } });
      expect((await under.repo.nearby({ ...centre, radiusM: 500, limit: 5 })).map((c) => c.id)).toEqual([id]);

      const offline = await under.repo.setAvailability(id, false);
      expect(offline).toMatchObject({ outcome: 'ok', courier: { status: 'offline' } });
      expect(await under.repo.nearby({ ...centre, radiusM: 500, limit: 5 })).toEqual([]);
    });

    it('lists the online couriers with a position, by id, for the fleet map', async () => {
      const [a, b, off, nowhere] = ['a', 'b', 'off', 'nowhere'].map((n) => `${uniqueName('courier')}-${n}`) as [
        string,
        string,
        string,
        string,
      ];
      for (const id of [a, b, off]) await under.repo.recordLocation(id, { ...offset(10, 10), at: at() });
      await under.repo.setAvailability(a, true);
      await under.repo.setAvailability(b, true);
      await under.repo.setAvailability(nowhere, true);
      const listed = (await under.repo.online(1_000)).filter((c) => [a, b, off, nowhere].includes(c.id));
      expect(listed.map((c) => c.id)).toEqual([a, b].sort());
      expect(listed[0]).toMatchObject({ status: 'available', location: { lat: expect.any(Number) } });
      expect(await under.repo.online(1)).toHaveLength(1);
    });

    it('offers dispatch only available couriers with a position, nearest first, with their vehicle', async () => {
      const car = uniqueName('car');
      const bike = uniqueName('bike');
      const offline = uniqueName('offline');
      await under.repo.setAvailability(car, true, 'car');
      await under.repo.recordLocation(car, { ...offset(0, 800), at: at() });
      await under.repo.setAvailability(bike, true);
      await under.repo.recordLocation(bike, { ...offset(200, 0), at: at() });
      await under.repo.recordLocation(offline, { ...offset(10, 0), at: at() });

      const found = await under.repo.nearestAvailable({ ...centre, market, radiusM: 1_000, limit: 10 });

      expect(found.map((c) => [c.id, c.vehicle])).toEqual([
        [bike, 'bicycle'],
        [car, 'car'],
      ]);
      expect(found[1]!.distanceM).toBeCloseTo(metres(centre, offset(0, 800)), -1);
      expect(found[1]!.lat).toBeCloseTo(offset(0, 800).lat, 5);
      expect(found[1]!.lng).toBeCloseTo(offset(0, 800).lng, 5);
    });

    it('leaves out of dispatch a courier whose last fix is older than asked', async () => {
      const fresh = uniqueName('fresh');
      const silent = uniqueName('silent');
      await under.repo.setAvailability(fresh, true);
      await under.repo.recordLocation(fresh, { ...offset(100, 0), at: at(10) });
      await under.repo.setAvailability(silent, true);
      await under.repo.recordLocation(silent, { ...offset(50, 0), at: at(600) });

      const search = { ...centre, market, radiusM: 1_000, limit: 10 };
      expect((await under.repo.nearestAvailable(search)).map((c) => c.id)).toEqual([silent, fresh]);
      const recent = await under.repo.nearestAvailable({ ...search, fixedSinceMs: Date.now() - 120_000 });
      expect(recent.map((c) => c.id)).toEqual([fresh]);
    });

    it('sees couriers on both sides of a market border near a point, and lists every market’s on the fleet map', async () => {
      const lat = -60 + Math.random() * 120;
      const [west, east] = [uniqueName('west'), uniqueName('east')];
      await under.repo.setAvailability(west, true);
      await under.repo.recordLocation(west, { lat, lng: -0.003, at: at() });
      await under.repo.setAvailability(east, true);
      await under.repo.recordLocation(east, { lat, lng: 0.001, at: at() });
      const near = await under.repo.nearby({ lat, lng: 0, radiusM: 1_000, limit: 10 });
      expect(near.map((c) => c.id)).toEqual([east, west]);
      const fleet = (await under.repo.online(1_000)).map((c) => c.id);
      expect(fleet).toEqual(expect.arrayContaining([west, east]));
      expect(fleet).toEqual([...fleet].sort());
      // Dispatch sees each in its own market only.
      const search = { lat, lng: 0, radiusM: 1_000, limit: 10 };
      expect((await under.repo.nearestAvailable({ ...search, market: 'west' })).map((c) => c.id)).toEqual([west]);
      expect((await under.repo.nearestAvailable({ ...search, market: 'east' })).map((c) => c.id)).toEqual([east]);
    });

    it('answers a ping', async () => {
      await expect(under.repo.ping()).resolves.toBeUndefined();
    });
  });
}
