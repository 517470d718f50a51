export * from './archive.module';
export * from './histogram';
export * from './memory-route-archive';
export * from './order-facts';
export * from './pg-route-archive';
export * from './report-rows';
export * from './route-archive.port';
