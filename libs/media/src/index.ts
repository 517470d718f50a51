export * from './proof-photo';
