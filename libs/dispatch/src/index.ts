export * from './dispatch-ranking';
export * from './dispatch-store.port';
export * from './dispatch.module';
export * from './memory-dispatch-store';
export * from './order-events';
export * from './order-state';
export * from './order-transitions';
export * from './redis-dispatch-store';
