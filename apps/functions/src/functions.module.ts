import { type DynamicModule, Module } from '@nestjs/common';
import { FunctionHost } from './host/function-host';
import { MESH_FUNCTIONS, type MeshFunction } from './host/mesh-function';
import { LocationFunction } from './location/location.function';

const ALL_FUNCTIONS = [LocationFunction];

/** The function host and the functions it runs (all by default, or those named in FUNCTIONS). */
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
      ],
    };
  }
}
