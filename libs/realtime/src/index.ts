export * from './client-push.port';
export * from './in-process-client-push';
export * from './realtime.module';
export * from './redis-client-push';
export * from './memory-push-history';
export * from './push-history.port';
export * from './redis-push-history';
