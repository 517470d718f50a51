import { type DynamicModule, Module } from '@nestjs/common';
import { FunctionHost } from './host/function-host';
import { MESH_FUNCTIONS, type MeshFunction } from './host/mesh-function';
import { DeadlineSweeper } from './dispatch/deadline-sweeper';
import { DispatchFunction } from './dispatch/dispatch.function';
import { LocationFunction } from './location/location.function';
import { OrderUpdatesFunction } from './order-updates/order-updates.function';

const ALL_FUNCTIONS = [LocationFunction, DispatchFunction, OrderUpdatesFunction];

/**
 * The function host and the functions it runs (all by default, or those named in
 * FUNCTIONS). Where dispatch runs, so does the sweeper that turns its deadlines into events.
 */
@Module({})
export class FunctionsModule {
  static forRoot(only?: readonly string[]): DynamicModule {
    return {
      module: FunctionsModule,
      providers: [
        ...ALL_FUNCTIONS,
        {
          provide: MESH_FUNCTIONS,
          inject: ALL_FUNCTIONS,
          useFactory: (...fns: MeshFunction[]) => fns.filter((fn) => !only || only.includes(fn.name)),
        },
        FunctionHost,
        ...(!only || only.includes('dispatch') ? [DeadlineSweeper] : []),
      ],
    };
  }
}
