import { Injectable } from '@nestjs/common';
import { RouteArchive } from '@mesh/archive';
import type { CourierTrail, DispatchReportQuery, DispatchReportRow, TrailQuery } from '@mesh/contracts';
import { problems } from '@mesh/problem';

/** The dispatchers' look back: reports and trails from the route log. */
@Injectable()
export class ReportsService {
  constructor(private readonly archive: RouteArchive) {}

  dispatch(query: DispatchReportQuery): Promise<DispatchReportRow[]> {
    return this.read(() =>
      this.archive.dispatchReport({
        fromMs: Date.parse(query.from),
        toMs: Date.parse(query.to),
        groupBy: query.groupBy,
      }),
    );
  }

  async trail(courierId: string, query: TrailQuery): Promise<CourierTrail> {
    const points = await this.read(() => this.archive.trail(courierId, Date.parse(query.from), Date.parse(query.to)));
    const coordinates = points.map((p) => [p.lng, p.lat] as [number, number]);
    return {
      type: 'Feature',
      geometry:
        coordinates.length >= 2
          ? { type: 'LineString', coordinates }
          : coordinates.length === 1
            ? { type: 'Point', coordinates: coordinates[0] as [number, number] }
            : null,
      properties: {
        courierId,
        from: query.from,
        to: query.to,
        times: points.map((p) => new Date(p.atMs).toISOString()),
        orderIds: points.map((p) => p.orderId),
      },
    };
  }

  /** A route log that does not answer is a 503 (API.md: reads may be), never a 500. */
  private async read<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch {
      throw problems.dependencyDown('The route log (PostgreSQL) is not answering; retry shortly.');
    }
  }
}
