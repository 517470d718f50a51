import { Body, Controller, Get, HttpCode, Put, Query } from '@nestjs/common';
import {
  AvailabilityChange,
  FleetQuery,
  LocationReport,
  NearbyQuery,
  type CourierList,
  type CourierView,
  type NearbyCouriers,
  type Principal,
} from '@mesh/contracts';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod.pipe';
import { CouriersService } from './couriers.service';

@Controller('v1/couriers')
export class CouriersController {
  constructor(private readonly couriers: CouriersService) {}

  @Put('me/location')
  @Roles('courier')
  @HttpCode(204)
  reportLocation(
    @CurrentPrincipal() me: Principal,
    @Body(new ZodPipe(LocationReport)) body: LocationReport,
  ): Promise<void> {
    return this.couriers.reportLocation(me, body);
  }

  @Put('me/availability')
  @Roles('courier')
  @HttpCode(200)
  changeAvailability(
    @CurrentPrincipal() me: Principal,
    @Body(new ZodPipe(AvailabilityChange)) body: AvailabilityChange,
  ): Promise<CourierView> {
    return this.couriers.changeAvailability(me, body.available);
  }

  @Get('me')
  @Roles('courier')
  me(@CurrentPrincipal() me: Principal): Promise<CourierView> {
    return this.couriers.me(me);
  }

  @Get()
  @Roles('dispatcher')
  fleet(@Query(new ZodPipe(FleetQuery, 'query')) query: FleetQuery): Promise<CourierList> {
    return this.couriers.fleet(query);
  }

  @Get('nearby')
  @Roles('dispatcher')
  nearby(@Query(new ZodPipe(NearbyQuery, 'query')) query: NearbyQuery): Promise<NearbyCouriers> {
    return this.couriers.nearby(query);
  }
}
