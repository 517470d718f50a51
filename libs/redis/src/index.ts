export * from './redis-connection';
export * from './redis.module';
export * from './slots';
export * from './slot-subscriber';
export * from './redis-leases';
