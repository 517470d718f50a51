import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { IdempotencyKey, OrderList, OrderListQuery, OrderView, PlaceOrder, type Principal } from '@mesh/contracts';
import { parseOrThrow } from '@mesh/problem';
import type { Response } from 'express';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Operation, type OperationDoc } from '../docs/operation';
import { ZodPipe } from '../http/zod.pipe';
import { OrdersService } from './orders.service';

const ORDER_ID = { id: 'The order id' };
const NOT_YOURS = 'No such order, or not one the caller may see';
const WRONG_STATUS = 'The order’s status does not allow this';

/** A step of an order by id: who may take it is the route's roles; its status may not allow it. */
const orderAction = (id: string, summary: string, description: string, answer: string): OperationDoc => ({
  id,
  tag: 'orders',
  summary,
  description,
  params: ORDER_ID,
  ok: { description: answer, schema: OrderView },
  problems: { 404: NOT_YOURS, 409: WRONG_STATUS },
});

@Controller('v1/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @Roles('customer')
  @HttpCode(202)
  @Operation({
    id: 'placeOrder',
    tag: 'orders',
    summary: 'Place an order (customers)',
    description:
      'Answers 202 once the order is on Kafka; dispatch then offers it to the best available courier, and every change is pushed as `order.updated`. The same `Idempotency-Key` from the same customer (kept 24 h) answers with the same order, never a second one; a retry while the first request is still being processed gets 409; the same key with a different body gets 422.',
    reads: {
      'Idempotency-Key': {
        in: 'header',
        description: '1-255 printable ASCII characters chosen by the client',
        schema: IdempotencyKey.optional(),
      },
    },
    ok: {
      description: 'The order, pending',
      schema: OrderView,
      headers: { Location: { description: '/v1/orders/{id}', schema: { type: 'string' } } },
    },
    problems: {
      409: 'The same Idempotency-Key is still being processed',
      422: 'Pickup or dropoff outside the service area, or an Idempotency-Key used with another body',
      503: 'Kafka or Redis did not take the order; nothing was placed, send it again',
    },
  })
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
  @Operation({
    id: 'listOrders',
    tag: 'orders',
    summary: 'List the caller’s orders, newest first',
    description:
      'Dispatchers see all orders; otherwise a customer sees its own, a merchant those placed with it, a courier those assigned to it (a token with several roles lists by the widest of these, in that order).',
    ok: { description: 'A page of orders', schema: OrderList },
    problems: { 403: 'A caller with none of the roles that have orders (a host only)' },
  })
  list(
    @CurrentPrincipal() me: Principal,
    @Query(new ZodPipe(OrderListQuery, 'query')) query: OrderListQuery,
  ): Promise<OrderList> {
    return this.orders.list(me, query);
  }

  @Get(':id')
  @Operation({
    id: 'getOrder',
    tag: 'orders',
    summary: 'One order',
    description:
      'For its customer, its merchant, its assigned courier or the courier it is offered to, and dispatchers.',
    params: ORDER_ID,
    ok: { description: 'The order', schema: OrderView },
    problems: { 404: NOT_YOURS },
  })
  get(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.get(me, id);
  }

  @Post(':id/cancel')
  @Roles('customer', 'dispatcher')
  @HttpCode(200)
  @Operation(
    orderAction(
      'cancelOrder',
      'Cancel an order',
      'Its customer, before pick-up; any dispatcher, until delivery. A live offer is revoked (`offer.revoked`) and the courier is free again.',
      'The order, cancelled',
    ),
  )
  cancel(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.cancel(me, id);
  }

  @Post(':id/redispatch')
  @Roles('dispatcher')
  @HttpCode(202)
  @Operation(
    orderAction(
      'redispatchOrder',
      'Dispatch an unassigned order again (dispatchers)',
      'Attempts and excluded couriers start over.',
      'The order, dispatching',
    ),
  )
  redispatch(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.redispatch(me, id);
  }

  @Post(':id/pickup')
  @Roles('courier')
  @HttpCode(200)
  @Operation(
    orderAction(
      'pickUpOrder',
      'Mark an assigned order picked up (its courier)',
      'Only from `assigned`.',
      'The order, picked up',
    ),
  )
  pickUp(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.pickUp(me, id);
  }

  @Post(':id/deliver')
  @Roles('courier')
  @HttpCode(200)
  @Operation(
    orderAction(
      'deliverOrder',
      'Mark a picked-up order delivered (its courier)',
      'Only from `picked_up`; the courier is available again.',
      'The order, delivered',
    ),
  )
  deliver(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<OrderView> {
    return this.orders.deliver(me, id);
  }
}
