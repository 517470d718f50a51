import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { OrderView, type Principal } from '@mesh/contracts';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Operation } from '../docs/operation';
import { OrdersService } from './orders.service';

@Controller('v1/offers')
export class OffersController {
  constructor(private readonly orders: OrdersService) {}

  @Post(':id/accept')
  @Roles('courier')
  @HttpCode(200)
  @Operation({
    id: 'acceptOffer',
    tag: 'offers',
    summary: 'Accept an offer (the offered courier)',
    params: { id: 'The offer id' },
    ok: { description: 'The order, assigned to the caller, with its ETA', schema: OrderView },
    problems: {
      404: 'No such offer for this courier',
      409: 'The offer expired, was revoked or was already answered',
    },
  })
  accept(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.answerOffer(me, id, 'accept');
  }

  @Post(':id/decline')
  @Roles('courier')
  @HttpCode(204)
  @Operation({
    id: 'declineOffer',
    tag: 'offers',
    summary: 'Decline an offer (the offered courier)',
    description: 'Dispatch moves on to the next courier; the decliner is not offered this order again.',
    params: { id: 'The offer id' },
    ok: { description: 'Declined' },
    problems: {
      404: 'No such offer for this courier',
      409: 'The offer expired, was revoked or was already answered',
    },
  })
  async decline(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<void> {
    await this.orders.answerOffer(me, id, 'decline');
  }
}
