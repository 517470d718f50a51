import { Controller, Get, Query } from '@nestjs/common';
import { ActivationQuery, type ActivationList, type FunctionHealthList, type ScheduleList } from '@mesh/contracts';
import { Roles } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod.pipe';
import { AdminService } from './admin.service';

/** Operations views for dispatchers: the functions' health and what they did, newest first. */
@Controller('v1/admin')
@Roles('dispatcher')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

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
}
