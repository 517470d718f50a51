import { Injectable } from '@nestjs/common';
import { DependencyUnavailable, type MeshEvent } from '@mesh/bus';
import { RouteArchive, type ArchivedFix } from '@mesh/archive';
import { CourierGeoRepository } from '@mesh/geo';
import type { MeshFunction } from '../host/mesh-function';
import { ArchiveWatermark } from './archive-watermark';

type FixEvents = 'courier.location.reported' | 'courier.locations.reported';

/** How long positions wait for the archive to catch up with the order log before their event is handed back to wait. */
const WAIT_FOR_ARCHIVE_MS = 10_000;
/** An order change committed before a position was put on the bus is on the bus itself within this (the outbox relay's lag). */
const RELAY_LAG_MS = 1_000;
/** How long a position may wait for the archive to learn of its courier's order (older ones are judged as they are). */
const WAIT_FOR_ORDER_MS = 60_000;
/** How long one invocation looks for it before handing the event back to wait (a retry at least every second). */
const LOOK_FOR_MS = 3_000;
const LOOK_EVERY_MS = 100;

/**
 * The trails: courier positions into the archive, which keeps those taken while
 * the courier was on an order (from assignment to delivery) and adds each leg
 * to that order's distance. Positions and order events travel on different
 * topics, so a position may come before the archive knows its courier's order:
 * - positions are judged only once the archive has every order event that was
 *   on the bus a little after they were put on it (ArchiveWatermark), so an order
 *   assigned, and maybe delivered too, before then is known. Events of one
 *   courier handled one after another (a backlog, a replay) wait for the
 *   archive together, not each for a round of its own;
 * - when the live state has the courier on an order the archive has still not
 *   seen assigned (its event not on the bus yet), the position waits for it.
 * Which positions are kept then depends on their times alone, so a replay keeps the same.
 */
@Injectable()
export class TrailFunction implements MeshFunction<FixEvents> {
  readonly name = 'trail';
  readonly topic = 'couriers';
  readonly accepts = ['courier.location.reported', 'courier.locations.reported'] as const;
  readonly idempotency = 'natural';
  readonly records = 'failures';
  // The trails are read in reports, not live: fuller batches make fewer, larger PostgreSQL writes.
  readonly fetchIntervalMs = 250;

  constructor(
    private readonly archive: RouteArchive,
    private readonly couriers: CourierGeoRepository,
    private readonly watermark: ArchiveWatermark,
  ) {}

  async handle(event: MeshEvent<FixEvents>): Promise<void> {
    // The gateway's clock, not the phone's; never later than this one's (a gateway ahead would only hold positions up).
    const postedAt = Math.min(Date.parse(event.time ?? '') || Date.now(), Date.now());
    const fixes = (event.type === 'courier.locations.reported' ? event.data.fixes : [event.data]).map(
      (f): ArchivedFix => ({ courierId: f.courierId, atMs: Date.parse(f.at), lat: f.lat, lng: f.lng }),
    );
    await this.watermark.through(postedAt + RELAY_LAG_MS, WAIT_FOR_ARCHIVE_MS);
    const { unmatched } = await this.archive.recordPositions(fixes);
    const recent = unmatched.filter((f) => Date.now() - f.atMs < WAIT_FOR_ORDER_MS);
    if (recent.length === 0) return;
    const waiting = await this.liveOrders(recent);
    if (waiting.size === 0) return;
    const deadline = Date.now() + LOOK_FOR_MS;
    for (;;) {
      const known = await this.archive.knownAssigned([...waiting.values()]);
      if (known.size === waiting.size) break;
      if (Date.now() > deadline) {
        throw new DependencyUnavailable(
          `the archive has not seen order ${[...waiting.values()].find((id) => !known.has(id))} assigned yet`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
    }
    await this.archive.recordPositions(recent.filter((f) => waiting.has(f.courierId)));
  }

  /** The couriers of these positions that the live state has on an order: courier → order. */
  private async liveOrders(fixes: readonly ArchivedFix[]): Promise<Map<string, string>> {
    const ids = [...new Set(fixes.map((f) => f.courierId))];
    const live = await Promise.all(ids.map((id) => this.couriers.get(id)));
    return new Map(live.flatMap((c) => (c.activeOrderId ? [[c.id, c.activeOrderId] as const] : [])));
  }
}
