import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import type { OrderView, Principal } from '@mesh/contracts';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { OrdersService } from './orders.service';

@Controller('v1/offers')
export class OffersController {
  constructor(private readonly orders: OrdersService) {}

  @Post(':id/accept')
  @Roles('courier')
  @HttpCode(200)
  accept(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.answerOffer(me, id, 'accept');
  }

  @Post(':id/decline')
  @Roles('courier')
  @HttpCode(204)
  async decline(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<void> {
    await this.orders.answerOffer(me, id, 'decline');
  }
}
