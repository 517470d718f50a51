import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuthModule } from '@mesh/auth';
import type { AppConfig } from '@mesh/config';
import { redisOrMemory } from '@mesh/redis';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { ReportsService } from './admin/reports.service';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { CouriersController } from './couriers/couriers.controller';
import { CouriersService } from './couriers/couriers.service';
import { DashboardController } from './dashboard/dashboard.controller';
import { DevTokensController } from './dev/dev-tokens.controller';
import { ProblemFilter } from './http/problem.filter';
import { OpsController } from './ops/ops.controller';
import { OffersController } from './orders/offers.controller';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';
import { ProofController } from './orders/proof.controller';
import { ProofService } from './orders/proof.service';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { ANONYMOUS_BUDGET, RequestBudget, SOCKET_EVENT_BUDGET } from './rate-limit/request-budget';
import { RealtimeGateway } from './realtime/realtime.gateway';
import { SocketRecovery } from './realtime/socket-recovery';
import { LiveController } from './streams/live.controller';
import { StreamsController } from './streams/streams.controller';
import { StreamsService } from './streams/streams.service';
import { LiveLoadGauge } from './streams/live-load.gauge';

/** The gateway's routes, guard and Socket.IO server; adapters come from the infrastructure modules. */
@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [AuthModule],
      controllers: [
        OpsController,
        CouriersController,
        OrdersController,
        OffersController,
        ProofController,
        StreamsController,
        LiveController,
        DashboardController,
        AdminController,
        ...(config.devTokens ? [DevTokensController] : []),
      ],
      providers: [
        CouriersService,
        OrdersService,
        ProofService,
        StreamsService,
        LiveLoadGauge,
        AdminService,
        ReportsService,
        RealtimeGateway,
        SocketRecovery,
        redisOrMemory(config, RequestBudget, {
          memory: () => RequestBudget.inMemory(config.rateLimit),
          redis: (redis) => RequestBudget.onRedis(redis, config.rateLimit),
        }),
        { provide: SOCKET_EVENT_BUDGET, useFactory: () => RequestBudget.inMemory(config.rateLimit) },
        {
          provide: ANONYMOUS_BUDGET,
          useFactory: () =>
            RequestBudget.inMemory({ requests: config.anonymous.requests, windowS: config.rateLimit.windowS }),
        },
        // In this order: the budget is charged to the user the token names.
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
      exports: [ANONYMOUS_BUDGET],
    };
  }
}
