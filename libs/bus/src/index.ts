export * from './bus.module';
export * from './cloud-event';
export * from './event-bus.port';
export * from './kafka-binding';
export * from './kafka-event-bus';
export * from './memory-event-bus';
export { Coalescer } from './concurrency';
