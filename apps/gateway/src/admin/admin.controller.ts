import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { dispatchReportCsv } from '@mesh/archive';
import {
  ActivationList,
  ActivationQuery,
  CourierIdParam,
  CourierTrail,
  DispatchReport,
  DispatchReportQuery,
  FunctionHealthList,
  ScheduleList,
  TrailQuery,
} from '@mesh/contracts';
import type { Response } from 'express';
import { Roles } from '../auth/auth.decorators';
import { Operation } from '../docs/operation';
import { ZodPipe } from '../http/zod.pipe';
import { AdminService } from './admin.service';
import { ReportsService } from './reports.service';

/** Operations views for dispatchers: the functions' health and what they did, newest first. */
@Controller('v1/admin')
@Roles('dispatcher')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly reports: ReportsService,
  ) {}

  @Get('functions')
  @Operation({
    id: 'listFunctions',
    tag: 'admin',
    summary: 'Each function’s replicas, lag and recent rates (dispatchers)',
    description:
      'Replicas are the members of the function’s consumer group, wherever they run; rates come from the invocation records of the last 5 minutes.',
    ok: { description: 'Functions', schema: FunctionHealthList },
  })
  functions(): Promise<FunctionHealthList> {
    return this.admin.functions();
  }

  @Get('schedules')
  @Operation({
    id: 'listSchedules',
    tag: 'admin',
    summary: 'The scheduled functions (dispatchers)',
    description:
      'Each schedule: cron or interval, time zone, its last fire with the outcome of its invocation (`fired` until its function has finished with it), and its next fire.',
    ok: { description: 'Schedules', schema: ScheduleList },
  })
  schedules(): Promise<ScheduleList> {
    return this.admin.schedules();
  }

  @Get('activations')
  @Operation({
    id: 'listActivations',
    tag: 'admin',
    summary: 'Function invocations, newest first (dispatchers)',
    description:
      'Every invocation of the functions that record them (the location function records failures only): function, event id, start, duration, outcome and error. The newest 100,000 are kept.',
    ok: { description: 'Invocations', schema: ActivationList },
  })
  activations(@Query(new ZodPipe(ActivationQuery, 'query')) query: ActivationQuery): Promise<ActivationList> {
    return this.admin.activations(query);
  }

  /** JSON, or CSV with a header row (`format=csv`), as a download named by its span. */
  @Get('reports/dispatch')
  @Operation({
    id: 'getDispatchReport',
    tag: 'admin',
    summary: 'Dispatch report from the route log, per hour or per area (dispatchers)',
    description:
      'For the orders placed from `from` (taken back to the start of its hour) until `to`, at most 31 days: placed, delivered, cancelled, unassigned (dispatch gave up at least once); seconds from placing to the first assignment (p50/p95/p99), to pick-up and to delivery (p50), read from histograms whose buckets are 10% wide (the upper bound); metres the couriers covered from assignment to delivery, per delivery. `groupBy=hour` keys rows by the hour (UTC, ISO), `area` by the H3 cell (resolution 7) of the pickup. `format=csv`: the same columns with a header row.',
    ok: { description: 'The report', schema: DispatchReport, content: { 'text/csv': { schema: { type: 'string' } } } },
    problems: {
      400: 'Invalid query (times, span over 31 days, groupBy, format)',
      503: 'The route log is not answering',
    },
  })
  async dispatchReport(
    @Query(new ZodPipe(DispatchReportQuery, 'query')) query: DispatchReportQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<DispatchReport | string> {
    const items = await this.reports.dispatch(query);
    if (query.format === 'json') return { items };
    res.type('text/csv; charset=utf-8');
    res.attachment(`dispatch-${query.groupBy}-${query.from.slice(0, 13)}.csv`);
    return dispatchReportCsv(items);
  }

  @Get('couriers/:id/trail')
  @Operation({
    id: 'getCourierTrail',
    tag: 'admin',
    summary: 'A courier’s trail while on orders (dispatchers)',
    description:
      'Its archived positions from `from` to `to` (at most 24 hours) as a GeoJSON feature: a LineString ([lng, lat]) with `properties.times` and `properties.orderIds` per position; one position is a Point, none a null geometry.',
    params: { id: 'The courier (a user id, the JWT `sub`)' },
    ok: { description: 'The trail', schema: CourierTrail },
    problems: { 400: 'Invalid query (times, span over 24 hours)', 503: 'The route log is not answering' },
  })
  trail(
    @Param('id', new ZodPipe(CourierIdParam, 'path.id')) courierId: string,
    @Query(new ZodPipe(TrailQuery, 'query')) query: TrailQuery,
  ): Promise<CourierTrail> {
    return this.reports.trail(courierId, query);
  }
}
