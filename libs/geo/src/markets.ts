import type { MarketArea } from '@mesh/config';
import { booleanPointInPolygon, point, pointToPolygonDistance } from '@turf/turf';

export interface LatLng {
  lat: number;
  lng: number;
}

/**
 * The markets of a deployment (DESIGN.md, "Markets"): named service areas.
 * Dispatch is local to one, and each market's state lives under one Redis
 * Cluster hash slot (`marketTag`), so markets spread over the cluster's shards.
 */
export class Markets {
  readonly names: readonly string[];

  constructor(private readonly areas: readonly MarketArea[]) {
    if (areas.length === 0) throw new Error('at least one market');
    this.names = areas.map((m) => m.name);
  }

  /** Where a courier with no position yet is kept: the first market. */
  get home(): string {
    return this.names[0] as string;
  }

  has(market: string): boolean {
    return this.names.includes(market);
  }

  /** The market containing the point, or null outside all of them. */
  of({ lat, lng }: LatLng): string | null {
    const at = point([lng, lat]);
    return this.areas.find((m) => m.area === null || booleanPointInPolygon(at, m.area))?.name ?? null;
  }

  /**
   * The market a courier at `position` belongs to: the one containing it; outside
   * every market (a ride just over the border), the one it is in; with none yet, the nearest.
   */
  forCourier(position: LatLng, current: string | null): string {
    const inside = this.of(position);
    if (inside) return inside;
    if (current && this.has(current)) return current;
    const at = point([position.lng, position.lat]);
    let nearest = this.home;
    let best = Infinity;
    for (const m of this.areas) {
      if (m.area === null) return m.name;
      const km = pointToPolygonDistance(at, m.area);
      if (km < best) [best, nearest] = [km, m.name];
    }
    return nearest;
  }
}
