export * from './proof-photo';
export * from './proof-objects';
export * from './media.module';
