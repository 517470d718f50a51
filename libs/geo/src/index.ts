export * from './courier-geo.repository';
export * from './geo.module';
export * from './markets';
export * from './memory-courier-geo.repository';
export * from './redis-courier-geo.repository';
