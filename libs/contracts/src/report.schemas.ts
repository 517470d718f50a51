import { z } from 'zod';

/** The longest span one report covers (API.md): 31 days. */
export const MAX_REPORT_SPAN_MS = 31 * 86_400_000;
/** The longest trail one request returns (API.md): 24 hours. */
export const MAX_TRAIL_SPAN_MS = 86_400_000;
/** Reports by area group pickups by their H3 cell at this resolution (about 5 km² a cell). */
export const REPORT_H3_RESOLUTION = 7;

const IsoTime = z.iso.datetime({ offset: true });

function spanAtMost(maxMs: number, what: string) {
  return (q: { from: string; to: string }, ctx: z.RefinementCtx) => {
    const span = Date.parse(q.to) - Date.parse(q.from);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (span > maxMs) ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${what} after from` });
  };
}

/**
 * `GET /v1/admin/reports/dispatch`: the orders placed from `from` to `to`, per
 * hour (UTC) or per H3 cell of their pickup. Reports count whole hours: `from`
 * is taken back to the start of its hour.
 */
export const DispatchReportQuery = z
  .strictObject({
    from: IsoTime,
    to: IsoTime,
    groupBy: z.enum(['hour', 'area']).default('hour'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .superRefine(spanAtMost(MAX_REPORT_SPAN_MS, '31 days'));
export type DispatchReportQuery = z.infer<typeof DispatchReportQuery>;

/**
 * One row of a dispatch report, for the orders placed in its hour or cell: how
 * many, how many ended delivered or cancelled, how many dispatch gave up on at
 * least once (unassigned); seconds from placing to the first assignment
 * (p50/p95/p99), to pick-up and to delivery (p50), as the upper bound of their
 * histogram bucket (buckets 10% wide); and the length of the couriers' trails
 * from assignment to delivery, per delivered order.
 */
export const DispatchReportRow = z.object({
  key: z.string(),
  placed: z.number().int(),
  delivered: z.number().int(),
  cancelled: z.number().int(),
  unassigned: z.number().int(),
  dispatchP50S: z.number().nullable(),
  dispatchP95S: z.number().nullable(),
  dispatchP99S: z.number().nullable(),
  toPickupP50S: z.number().nullable(),
  toDeliveryP50S: z.number().nullable(),
  distanceMPerDelivery: z.number().nullable(),
});
export type DispatchReportRow = z.infer<typeof DispatchReportRow>;
export const DispatchReport = z.object({ items: z.array(DispatchReportRow) });
export type DispatchReport = z.infer<typeof DispatchReport>;
/** The CSV's columns, in order (the header row names them). */
export const DISPATCH_REPORT_COLUMNS = Object.keys(DispatchReportRow.shape) as (keyof DispatchReportRow)[];

/** `GET /v1/admin/couriers/{id}/trail`: at most 24 hours of a courier's positions. */
export const TrailQuery = z
  .strictObject({ from: IsoTime, to: IsoTime })
  .superRefine(spanAtMost(MAX_TRAIL_SPAN_MS, '24 hours'));
export type TrailQuery = z.infer<typeof TrailQuery>;

/**
 * A courier's trail as a GeoJSON feature: a `LineString` of its positions
 * ([lng, lat]) while it was on an order, oldest first, with the time of each
 * (`properties.times`) and the order it was on (`properties.orderIds`). One
 * position is a `Point`; none, a null geometry.
 */
export const CourierTrail = z.object({
  type: z.literal('Feature'),
  geometry: z.union([
    z.object({ type: z.literal('LineString'), coordinates: z.array(z.tuple([z.number(), z.number()])) }),
    z.object({ type: z.literal('Point'), coordinates: z.tuple([z.number(), z.number()]) }),
    z.null(),
  ]),
  properties: z.object({
    courierId: z.string(),
    from: z.string(),
    to: z.string(),
    times: z.array(z.string()),
    orderIds: z.array(z.string()),
  }),
});
export type CourierTrail = z.infer<typeof CourierTrail>;

/** A courier as the trail route names it: a user id (a token's subject). */
export const CourierIdParam = z.string().min(1).max(200);
