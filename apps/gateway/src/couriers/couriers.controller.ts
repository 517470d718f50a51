import { Body, Controller, Get, HttpCode, Put, Query } from '@nestjs/common';
import {
  AvailabilityChange,
  CourierList,
  CourierView,
  FleetQuery,
  LocationReport,
  NearbyCouriers,
  NearbyQuery,
  type Principal,
} from '@mesh/contracts';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Operation } from '../docs/operation';
import { ZodPipe } from '../http/zod.pipe';
import { CouriersService } from './couriers.service';

@Controller('v1/couriers')
export class CouriersController {
  constructor(private readonly couriers: CouriersService) {}

  @Put('me/location')
  @Roles('courier')
  @HttpCode(204)
  @Operation({
    id: 'reportLocation',
    tag: 'couriers',
    summary: 'Report the calling courier’s position',
    description:
      'Accepted once on Kafka; visible through nearby search when the location function has applied it. A fix older than the stored one is ignored.',
    ok: { description: 'On the event bus' },
  })
  reportLocation(
    @CurrentPrincipal() me: Principal,
    @Body(new ZodPipe(LocationReport)) body: LocationReport,
  ): Promise<void> {
    return this.couriers.reportLocation(me, body);
  }

  @Put('me/availability')
  @Roles('courier')
  @HttpCode(200)
  @Operation({
    id: 'changeAvailability',
    tag: 'couriers',
    summary: 'Go available or offline',
    description:
      'Answers with the status the change leads to; it is applied in order with the courier’s location updates.',
    ok: { description: 'The courier, as the change leaves it', schema: CourierView },
    problems: { 409: 'Going offline while offered or busy' },
  })
  changeAvailability(
    @CurrentPrincipal() me: Principal,
    @Body(new ZodPipe(AvailabilityChange)) body: AvailabilityChange,
  ): Promise<CourierView> {
    return this.couriers.changeAvailability(me, body.available);
  }

  @Get('me')
  @Roles('courier')
  @Operation({
    id: 'getMyCourier',
    tag: 'couriers',
    summary: 'The calling courier',
    ok: { description: 'The courier', schema: CourierView },
  })
  me(@CurrentPrincipal() me: Principal): Promise<CourierView> {
    return this.couriers.me(me);
  }

  @Get()
  @Roles('dispatcher')
  @Operation({
    id: 'listCouriers',
    tag: 'couriers',
    summary: 'The online couriers with a position, by id (dispatchers: the fleet map)',
    ok: { description: 'A page of couriers', schema: CourierList },
  })
  fleet(@Query(new ZodPipe(FleetQuery, 'query')) query: FleetQuery): Promise<CourierList> {
    return this.couriers.fleet(query);
  }

  @Get('nearby')
  @Roles('dispatcher')
  @Operation({
    id: 'listNearbyCouriers',
    tag: 'couriers',
    summary: 'Online couriers near a point, nearest first (dispatchers)',
    ok: { description: 'Couriers with distanceM', schema: NearbyCouriers },
  })
  nearby(@Query(new ZodPipe(NearbyQuery, 'query')) query: NearbyQuery): Promise<NearbyCouriers> {
    return this.couriers.nearby(query);
  }
}
