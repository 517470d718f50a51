export * from './app-client';
export * from './client-push.contract';
export * from './courier-geo.contract';
export * from './dispatch-store.contract';
export * from './event-bus.contract';
export * from './eventually';
export * from './silent-logger';
export * from './stack';
