import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { dispatchReportCsv } from '@mesh/archive';
import {
  ActivationQuery,
  CourierIdParam,
  DispatchReportQuery,
  TrailQuery,
  type ActivationList,
  type CourierTrail,
  type DispatchReport,
  type FunctionHealthList,
  type ScheduleList,
} from '@mesh/contracts';
import type { Response } from 'express';
import { Roles } from '../auth/auth.decorators';
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
  functions(): Promise<FunctionHealthList> {
    return this.admin.functions();
  }

  @Get('schedules')
  schedules(): Promise<ScheduleList> {
    return this.admin.schedules();
  }

  @Get('activations')
  activations(@Query(new ZodPipe(ActivationQuery, 'query')) query: ActivationQuery): Promise<ActivationList> {
    return this.admin.activations(query);
  }

  /** JSON, or CSV with a header row (`format=csv`), as a download named by its span. */
  @Get('reports/dispatch')
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
  trail(
    @Param('id', new ZodPipe(CourierIdParam, 'path.id')) courierId: string,
    @Query(new ZodPipe(TrailQuery, 'query')) query: TrailQuery,
  ): Promise<CourierTrail> {
    return this.reports.trail(courierId, query);
  }
}
