export * from './invocation-ledger.port';
export * from './invocations.module';
export * from './memory-invocation-ledger';
export * from './redis-invocation-ledger';
