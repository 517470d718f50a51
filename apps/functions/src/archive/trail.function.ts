import { Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { RouteArchive } from '@mesh/archive';
import type { MeshFunction } from '../host/mesh-function';

/**
 * The trails: courier positions into the archive, which keeps those taken while
 * the courier was on an order (from assignment to delivery) and adds each leg
 * to that order's distance.
 */
@Injectable()
export class TrailFunction implements MeshFunction<'courier.location.reported' | 'courier.locations.reported'> {
  readonly name = 'trail';
  readonly topic = 'couriers';
  readonly accepts = ['courier.location.reported', 'courier.locations.reported'] as const;
  readonly idempotency = 'natural';
  readonly records = 'failures';

  constructor(private readonly archive: RouteArchive) {}

  async handle(event: MeshEvent<'courier.location.reported' | 'courier.locations.reported'>): Promise<void> {
    const fixes = event.type === 'courier.locations.reported' ? event.data.fixes : [event.data];
    await this.archive.recordPositions(
      fixes.map((f) => ({ courierId: f.courierId, atMs: Date.parse(f.at), lat: f.lat, lng: f.lng })),
    );
  }
}
