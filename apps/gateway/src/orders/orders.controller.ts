import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  IdempotencyKey,
  OrderListQuery,
  PlaceOrder,
  type OrderList,
  type OrderView,
  type Principal,
} from '@mesh/contracts';
import { parseOrThrow } from '@mesh/problem';
import type { Response } from 'express';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod.pipe';
import { OrdersService } from './orders.service';

@Controller('v1/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @Roles('customer')
  @HttpCode(202)
  async place(
    @CurrentPrincipal() me: Principal,
    @Body(new ZodPipe(PlaceOrder)) body: PlaceOrder,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderView> {
    const idempotencyKey = parseOrThrow(IdempotencyKey.optional(), key, 'headers.idempotency-key');
    const order = await this.orders.place(me, body, idempotencyKey);
    res.location(`/v1/orders/${order.id}`);
    return order;
  }

  @Get()
  list(
    @CurrentPrincipal() me: Principal,
    @Query(new ZodPipe(OrderListQuery, 'query')) query: OrderListQuery,
  ): Promise<OrderList> {
    return this.orders.list(me, query);
  }

  @Get(':id')
  get(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.get(me, id);
  }

  @Post(':id/cancel')
  @Roles('customer', 'dispatcher')
  @HttpCode(200)
  cancel(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.cancel(me, id);
  }

  @Post(':id/redispatch')
  @Roles('dispatcher')
  @HttpCode(202)
  redispatch(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.redispatch(me, id);
  }

  @Post(':id/pickup')
  @Roles('courier')
  @HttpCode(200)
  pickUp(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.pickUp(me, id);
  }

  @Post(':id/deliver')
  @Roles('courier')
  @HttpCode(200)
  deliver(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.deliver(me, id);
  }
}
