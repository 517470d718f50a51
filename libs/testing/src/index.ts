export * from './event-bus.contract';
export * from './eventually';
export * from './silent-logger';
export * from './client-push.contract';
export * from './courier-geo.contract';
export * from './stack';
export * from './dispatch-store.contract';
