export * from './courier.schemas';
export * from './events';
export * from './geo.schemas';
export * from './problem';
export * from './roles';
export * from './socket-events';
export * from './topics';
