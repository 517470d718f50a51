export * from './errors';
export {
  DEFAULT_RETRY,
  MeshHttp,
  type MeshHttpOptions,
  type MeshRequest,
  type MeshResponse,
  type RetryPolicy,
} from './http';
export { MeshLive, type MeshLiveOptions, type PushHandler } from './live';
export {
  MeshClient,
  attachmentName,
  newIdempotencyKey,
  type Instant,
  type MeshClientOptions,
  type Photo,
  type Span,
} from './mesh-client';
export type { TokenSource } from './tokens';
