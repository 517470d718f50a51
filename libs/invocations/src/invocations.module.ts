import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { redisOrMemory } from '@mesh/redis';
import { InvocationLedger } from './invocation-ledger.port';
import { MemoryInvocationLedger } from './memory-invocation-ledger';
import { RedisInvocationLedger } from './redis-invocation-ledger';

/** Provides the InvocationLedger: Redis for `ADAPTERS=real`, in-memory for the embedded default. */
@Global()
@Module({})
export class InvocationsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const provider = redisOrMemory(config, InvocationLedger, {
      memory: () => new MemoryInvocationLedger(),
      redis: (redis) => new RedisInvocationLedger(redis),
    });
    return { module: InvocationsModule, providers: [provider], exports: [InvocationLedger] };
  }
}
