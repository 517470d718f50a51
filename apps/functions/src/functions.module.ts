import { type DynamicModule, Module } from '@nestjs/common';
import { FunctionHost } from './host/function-host';
import { MESH_FUNCTIONS, type MeshFunction } from './host/mesh-function';
import { STANDBY } from './host/standby';
import { DeadlineSweeper } from './dispatch/deadline-sweeper';
import { DispatchFunction } from './dispatch/dispatch.function';
import { StateRebuilder } from './dispatch/state-rebuilder';
import { LocationFunction } from './location/location.function';
import { MixJobs } from './mix/mix-jobs';
import { MixControl, ZmqMixControl } from './mix/mix-control';
import { ProcessRunner, SpawnRunner } from './mix/process-runner';
import { MixFunction } from './mix/mix.function';
import { DEADLINES, PROCESS_ROLES } from '@mesh/contracts';
import { OrderUpdatesFunction } from './order-updates/order-updates.function';
import { HousekeepingFunction } from './housekeeping/housekeeping.function';
import { Scheduler } from './schedules/scheduler';
import { ArchiveFunction } from './archive/archive.function';
import { TrailFunction } from './archive/trail.function';
import { ArchiveWatermark } from './archive/archive-watermark';
import { MediaFunction } from './media/media.function';

const ALL_FUNCTIONS = [
  LocationFunction,
  DispatchFunction,
  OrderUpdatesFunction,
  MixFunction,
  HousekeepingFunction,
  ArchiveFunction,
  TrailFunction,
  MediaFunction,
];

/**
 * The function host and what this process runs: everything by default, or the
 * functions named in FUNCTIONS, where `deadlines` names the timers: the sweeper that
 * turns dispatch deadlines into events and keeps the dispatch state whole against
 * the order log, and the scheduler that fires the schedules (one or more always-on
 * processes need them).
 * A `standby` worker has every function ready and runs the ones its scaler names later.
 */
@Module({})
export class FunctionsModule {
  static forRoot(only?: readonly string[], standby = false): DynamicModule {
    const unknown = only?.filter((name) => !PROCESS_ROLES.includes(name)) ?? [];
    if (unknown.length > 0) {
      throw new Error(`FUNCTIONS names ${unknown.join(', ')}; known: ${PROCESS_ROLES.join(', ')}`);
    }
    return {
      module: FunctionsModule,
      providers: [
        ...ALL_FUNCTIONS,
        ArchiveWatermark,
        MixJobs,
        { provide: ProcessRunner, useClass: SpawnRunner },
        { provide: MixControl, useClass: ZmqMixControl },
        {
          provide: MESH_FUNCTIONS,
          inject: ALL_FUNCTIONS,
          useFactory: (...fns: MeshFunction[]) => fns.filter((fn) => standby || !only || only.includes(fn.name)),
        },
        { provide: STANDBY, useValue: standby },
        FunctionHost,
        ...(!standby && (!only || only.includes(DEADLINES)) ? [DeadlineSweeper, StateRebuilder, Scheduler] : []),
      ],
    };
  }
}
