export * from './auth.module';
export * from './jwt-verifier';
export * from './token-issuer';
export * from './metrics-token';
export * from './url-token';
