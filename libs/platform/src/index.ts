export * from './platform.module';
export * from './unhandled-rejections';
