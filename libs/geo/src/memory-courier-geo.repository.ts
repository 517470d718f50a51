import type { CourierStatus, CourierView, NearbyCourier } from '@mesh/contracts';
import { distance, point } from '@turf/turf';
import {
  CourierGeoRepository,
  offlineCourier,
  roundMetres,
  type AvailabilityResult,
  type CourierFix,
  type NearbySearch,
} from './courier-geo.repository';

interface CourierState {
  status: CourierStatus;
  fix: (CourierFix & { atMs: number }) | null;
  activeOrderId: string | null;
}

/** Couriers in process memory, for the embedded default and small tests. Linear nearby scan. */
export class MemoryCourierGeoRepository extends CourierGeoRepository {
  private readonly couriers = new Map<string, CourierState>();

  private state(id: string): CourierState {
    let state = this.couriers.get(id);
    if (!state) {
      state = { status: 'offline', fix: null, activeOrderId: null };
      this.couriers.set(id, state);
    }
    return state;
  }

  recordLocation(courierId: string, fix: CourierFix): Promise<boolean> {
    const state = this.state(courierId);
    const atMs = Date.parse(fix.at);
    if (state.fix && atMs < state.fix.atMs) return Promise.resolve(false);
    state.fix = { ...fix, atMs };
    return Promise.resolve(true);
  }

  setAvailability(courierId: string, available: boolean): Promise<AvailabilityResult> {
    const state = this.state(courierId);
    if (available) {
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

  nearby({ lat, lng, radiusM, limit }: NearbySearch): Promise<NearbyCourier[]> {
    const centre = point([lng, lat]);
    const found: NearbyCourier[] = [];
    for (const [id, state] of this.couriers) {
      if (state.status === 'offline' || !state.fix) continue;
      const metres = distance(centre, point([state.fix.lng, state.fix.lat]), { units: 'meters' });
      if (metres <= radiusM) found.push({ ...view(id, state), distanceM: roundMetres(metres) });
    }
    found.sort((a, b) => a.distanceM - b.distanceM);
    return Promise.resolve(found.slice(0, limit));
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }
}

function view(id: string, state: CourierState): CourierView {
  return {
    id,
    status: state.status,
    location: state.fix ? { lat: state.fix.lat, lng: state.fix.lng, at: state.fix.at } : null,
    activeOrderId: state.activeOrderId,
  };
}
