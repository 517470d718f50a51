export * from './parse';
export * from './problem';
