export * from './composition';
export * from './media-source';
export * from './memory-stream-store';
export * from './redis-stream-store';
export * from './stream-changes';
export * from './stream-store.port';
export * from './stream-view';
export * from './streams.module';
