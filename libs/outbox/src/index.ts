export * from './memory-outbox';
export * from './outbox-handoff';
export * from './outbox-relay';
export * from './outbox.module';
export * from './outbox.port';
export * from './redis-outbox';
