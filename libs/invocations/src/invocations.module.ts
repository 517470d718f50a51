import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { RedisConnection } from '@mesh/redis';
import { InvocationLedger } from './invocation-ledger.port';
import { MemoryInvocationLedger } from './memory-invocation-ledger';
import { RedisInvocationLedger } from './redis-invocation-ledger';

/** Provides the InvocationLedger: Redis for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class InvocationsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider =
      config.adapters === 'memory'
        ? { provide: InvocationLedger, useFactory: () => new MemoryInvocationLedger() }
        : {
            provide: InvocationLedger,
            inject: [RedisConnection],
            useFactory: (redis: RedisConnection) => new RedisInvocationLedger(redis),
          };
    return { module: InvocationsModule, providers: [provider], exports: [InvocationLedger] };
  }
}
