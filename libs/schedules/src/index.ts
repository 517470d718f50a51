export * from './memory-schedule-store';
export * from './redis-schedule-store';
export * from './schedule-store.port';
export * from './schedules.module';
export * from './ticks';
