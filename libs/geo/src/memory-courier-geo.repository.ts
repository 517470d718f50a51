import {
  DEFAULT_VEHICLE,
  type CourierStatus,
  type CourierView,
  type NearbyCourier,
  type Vehicle,
} from '@mesh/contracts';
import { DEFAULT_MARKET } from '@mesh/config';
import { distance, point } from '@turf/turf';
import {
  CourierGeoRepository,
  offlineCourier,
  roundMetres,
  type AvailableCourier,
  type AvailabilityResult,
  type CourierFix,
  type NearbySearch,
  type RecordedFix,
} from './courier-geo.repository';
import { Markets } from './markets';

/** A courier's whole state in memory; the in-memory dispatch store reads and writes its dispatch part. */
export interface MemoryCourierState {
  status: CourierStatus;
  fix: (CourierFix & { atMs: number }) | null;
  offerId: string | null;
  activeOrderId: string | null;
  vehicle: Vehicle;
  /** The market it is in: its last position's, unless it was engaged when it crossed. */
  market: string;
}

/** Couriers in process memory, for the embedded default and small tests. Linear nearby scan. */
export class MemoryCourierGeoRepository extends CourierGeoRepository {
  private readonly couriers = new Map<string, MemoryCourierState>();

  constructor(private readonly markets: Markets = new Markets([{ name: DEFAULT_MARKET, area: null }])) {
    super();
  }

  /** The courier's state, created offline on first use. Shared with the in-memory dispatch store. */
  state(id: string): MemoryCourierState {
    let state = this.couriers.get(id);
    if (!state) {
      state = {
        status: 'offline',
        fix: null,
        offerId: null,
        activeOrderId: null,
        vehicle: DEFAULT_VEHICLE,
        market: this.markets.home,
      };
      this.couriers.set(id, state);
    }
    return state;
  }

  recordLocation(courierId: string, fix: CourierFix): Promise<RecordedFix | null> {
    const known = this.couriers.has(courierId);
    const state = this.state(courierId);
    const atMs = Date.parse(fix.at);
    if (state.fix && atMs < state.fix.atMs) return Promise.resolve(null);
    state.fix = { ...fix, atMs };
    if (state.status !== 'offered' && state.status !== 'busy') {
      state.market = this.markets.forCourier(fix, known ? state.market : null);
    }
    return Promise.resolve({ activeOrderId: state.activeOrderId });
  }

  setAvailability(
    courierId: string,
    available: boolean,
    vehicle: Vehicle = DEFAULT_VEHICLE,
  ): Promise<AvailabilityResult> {
    const state = this.state(courierId);
    if (available) {
      state.vehicle = vehicle;
      if (state.status === 'offline') state.status = 'available';
    } else {
      if (state.status === 'offered' || state.status === 'busy') {
        return Promise.resolve({ outcome: 'engaged', status: state.status });
      }
      state.status = 'offline';
    }
    return Promise.resolve({ outcome: 'ok', courier: view(courierId, state) });
  }

  get(courierId: string): Promise<CourierView> {
    const state = this.couriers.get(courierId);
    return Promise.resolve(state ? view(courierId, state) : offlineCourier(courierId));
  }

  online(limit: number): Promise<CourierView[]> {
    const ids = [...this.couriers.entries()]
      .filter(([, state]) => state.status !== 'offline' && state.fix !== null)
      .map(([id]) => id)
      .sort()
      .slice(0, limit);
    return Promise.resolve(ids.map((id) => view(id, this.couriers.get(id)!)));
  }

  nearby(search: NearbySearch): Promise<NearbyCourier[]> {
    return Promise.resolve(
      this.within(search, (state) => state.status !== 'offline').map(({ id, state, distanceM }) => ({
        ...view(id, state),
        distanceM,
      })),
    );
  }

  nearestAvailable(search: NearbySearch & { market: string; fixedSinceMs?: number }): Promise<AvailableCourier[]> {
    const since = search.fixedSinceMs ?? -Infinity;
    const free = (state: MemoryCourierState) =>
      state.status === 'available' && state.market === search.market && (state.fix?.atMs ?? -Infinity) >= since;
    return Promise.resolve(
      this.within(search, free).map(({ id, state, distanceM }) => ({
        id,
        lat: state.fix?.lat ?? 0,
        lng: state.fix?.lng ?? 0,
        distanceM,
        vehicle: state.vehicle,
      })),
    );
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  private within(
    { lat, lng, radiusM, limit }: NearbySearch,
    include: (state: MemoryCourierState) => boolean,
  ): { id: string; state: MemoryCourierState; distanceM: number }[] {
    const centre = point([lng, lat]);
    const found: { id: string; state: MemoryCourierState; distanceM: number }[] = [];
    for (const [id, state] of this.couriers) {
      if (!include(state) || !state.fix) continue;
      const metres = distance(centre, point([state.fix.lng, state.fix.lat]), { units: 'meters' });
      if (metres <= radiusM) found.push({ id, state, distanceM: roundMetres(metres) });
    }
    found.sort((a, b) => a.distanceM - b.distanceM);
    return found.slice(0, limit);
  }
}

function view(id: string, state: MemoryCourierState): CourierView {
  return {
    id,
    status: state.status,
    location: state.fix ? { lat: state.fix.lat, lng: state.fix.lng, at: state.fix.at } : null,
    activeOrderId: state.activeOrderId,
  };
}
