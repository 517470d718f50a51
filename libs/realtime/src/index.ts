export * from './client-push.port';
export * from './in-process-client-push';
export * from './realtime.module';
export * from './redis-client-push';
