import { Controller, Get, Query } from '@nestjs/common';
import { ActivationQuery, type ActivationList } from '@mesh/contracts';
import { InvocationLedger } from '@mesh/invocations';
import { Roles } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod.pipe';

/** Operations views for dispatchers: what the functions did, newest first. */
@Controller('v1/admin')
@Roles('dispatcher')
export class AdminController {
  constructor(private readonly ledger: InvocationLedger) {}

  @Get('activations')
  async activations(@Query(new ZodPipe(ActivationQuery, 'query')) query: ActivationQuery): Promise<ActivationList> {
    return { items: await this.ledger.recent(query) };
  }
}
