import { createPublicKey, hkdfSync, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { SCHEDULES, ScheduleSpecs, type ScheduleSpec } from '@mesh/contracts';
import { z } from 'zod';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0),
);
const port = z.coerce.number().int().min(0).max(65_535);
const Ring = z.array(z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)])).min(4);
const Polygon = z.object({ type: z.literal('Polygon'), coordinates: z.array(Ring).min(1) });
const MultiPolygon = z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(Ring).min(1)).min(1) });
const AreaGeometry = z.union([Polygon, MultiPolygon]);
/** A GeoJSON Polygon or MultiPolygon, bare or as a Feature, bounding where orders are taken. */
const ServiceArea = z.union([
  AreaGeometry,
  z.object({ type: z.literal('Feature'), geometry: AreaGeometry }).transform((feature) => feature.geometry),
]);
export type ServiceArea = z.infer<typeof AreaGeometry>;

/** A market's name: in Redis keys (`{m:<name>}`), metrics and logs. */
const MarketName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, at most 32');
/** Markets as a GeoJSON FeatureCollection: one (Multi)Polygon feature per market, named by `properties.name`. */
const Markets = z
  .object({
    type: z.literal('FeatureCollection'),
    features: z
      .array(
        z.object({ type: z.literal('Feature'), properties: z.object({ name: MarketName }), geometry: AreaGeometry }),
      )
      .min(1)
      .max(64),
  })
  .transform((collection) => collection.features.map((f) => ({ name: f.properties.name, area: f.geometry })))
  .refine((markets) => new Set(markets.map((m) => m.name)).size === markets.length, 'market names must be unique');

/** A named service area: dispatch is local to it, and its state shares one Redis Cluster hash slot. */
export interface MarketArea {
  name: string;
  /** null: everywhere (the one market of a deployment that names none). */
  area: ServiceArea | null;
}
/** The market of a deployment that names none (or gives one `SERVICE_AREA`). */
export const DEFAULT_MARKET = 'default';

/** Addresses only this machine reaches. */
const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

const flag = z.enum(['0', '1']).transform((v) => v === '1');
/** A variable holding JSON, parsed (then checked by the schema it is piped into). */
const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

const Env = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: port.default(3000),
    FUNCTIONS_PORT: port.default(3001),
    ADAPTERS: z.enum(['memory', 'real']).default('real'),
    KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
    KAFKA_CLIENT_ID: z.string().min(1).default('dispatch-mesh'),
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    KAFKA_FETCH_INTERVAL_MS: z.coerce.number().int().min(0).max(1_000).default(5),
    KAFKA_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(5),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    /** Seed nodes of a Redis Cluster (host:port,…); when set, REDIS_URL is not used. */
    REDIS_CLUSTER_NODES: csv.optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .refine((prefix) => !/[{}]/.test(prefix), 'no braces: they would change the keys’ hash slots')
      .default('mesh:'),
    // The route log and its reports (ADAPTERS=real); credentials, if any, go in the URL and never in a log.
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://mesh@127.0.0.1:5432/mesh'),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
      .default('public'),
    ARCHIVE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
    REPORT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    // Object storage for uploads (ADAPTERS=real): an S3 endpoint and its credentials, from the Secret in a deployment.
    OBJECT_STORE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8333'),
    OBJECT_STORE_REGION: z.string().min(1).default('us-east-1'),
    OBJECT_STORE_ACCESS_KEY: z.string().min(1).optional(),
    OBJECT_STORE_SECRET_KEY: z.string().min(1).optional(),
    OBJECT_STORE_UPLOADS_BUCKET: z.string().min(3).max(63).default('mesh-uploads'),
    OBJECT_STORE_MEDIA_BUCKET: z.string().min(3).max(63).default('mesh-media'),
    // The embedded default keeps objects as files here.
    OBJECTS_DIR: z.string().min(1).default('.mesh/objects'),
    PROOF_URL_TTL_S: z.coerce.number().int().min(10).max(86_400).default(900),
    JWT_ISSUER: z.string().min(1).default('dispatch-mesh'),
    JWT_AUDIENCE: z.string().min(1).default('dispatch-mesh-api'),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_PUBLIC_KEY: z.string().min(1).optional(),
    // Keys fetched over plain http could be swapped by anyone on the path.
    JWT_JWKS_URL: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
    JWT_MAX_LIFETIME_S: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(24 * 3_600),
    DEV_TOKENS: flag.default(false),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    RATE_LIMIT_REQUESTS: z.coerce.number().int().min(0).max(1_000_000).default(600),
    RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(3_600).default(10),
    SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
    ANON_RATE_LIMIT_REQUESTS: z.coerce.number().int().min(0).max(1_000_000).default(300),
    ANON_SOCKETS_PER_IP: z.coerce.number().int().min(1).max(100_000).default(100),
    SOCKET_HANDSHAKE_TIMEOUT_S: z.coerce.number().min(1).max(60).default(5),
    CORS_ORIGINS: csv.pipe(z.array(z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin))).default([]),
    RECOVERY_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(120),
    RECOVERY_HISTORY_MAX: z.coerce.number().int().min(10).max(100_000).default(2_000),
    LOCATION_PUSH_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
    FUNCTION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
    FUNCTION_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(64),
    OFFER_TTL_S: z.coerce.number().min(1).max(600).default(15),
    COURIER_STALE_AFTER_S: z.coerce.number().int().min(10).max(86_400).default(120),
    DISPATCH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
    DISPATCH_INITIAL_RADIUS_M: z.coerce.number().positive().max(50_000).default(2_000),
    DISPATCH_MAX_RADIUS_M: z.coerce.number().positive().max(50_000).default(10_000),
    DISPATCH_RETRY_S: z.coerce.number().min(0.05).max(600).default(5),
    KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(60_000).default(2_500),
    SCHEDULES: jsonText.pipe(ScheduleSpecs).optional(),
    SERVICE_AREA: jsonText.pipe(ServiceArea).optional(),
    MARKETS: jsonText.pipe(Markets).optional(),
    MIX_MAX_INPUTS: z.coerce.number().int().min(1).max(16).default(9),
    MIX_MAX_ROOMS_PER_HOST: z.coerce.number().int().min(1).max(1_000).default(2),
    MIX_MAX_ROOMS: z.coerce.number().int().min(1).max(100_000).default(20),
    MIX_RESTARTS_PER_MIN: z.coerce.number().int().min(1).max(600).default(12),
    MIX_INPUT_HOSTS: csv.default([]),
    MIX_OUTPUT_HOSTS: csv.default([]),
    MIX_TEST_SOURCES: flag.default(false),
    MIX_SRT_OPTIONS: csv.default([]),
    MIX_CA_FILE: z.string().min(1).default('/etc/ssl/certs/ca-certificates.crt'),
    MIX_HLS_DIR: z.string().min(1).default('.mesh/live'),
    MIX_HLS_RETAIN_S: z.coerce.number().int().min(1).max(86_400).default(300),
    MIX_OUTPUT_SIZE: z
      .string()
      .regex(/^\d{2,4}x\d{2,4}$/, 'WIDTHxHEIGHT, e.g. 1280x720')
      .default('1280x720'),
    MIX_FPS: z.coerce.number().int().min(1).max(60).default(30),
    MIX_SEGMENT_S: z.coerce.number().min(0.5).max(10).default(1),
    MIX_X264_PRESET: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'),
    MIX_MAX_RESTARTS: z.coerce.number().int().min(0).max(20).default(3),
    MIX_PUSH_RETRIES: z.coerce.number().int().min(0).max(100).default(5),
    MIX_INPUT_TIMEOUT_S: z.coerce.number().min(1).max(60).default(5),
    FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
    PLAYBACK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    PLAYBACK_TTL_S: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(6 * 3_600),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .superRefine((env, ctx) => {
    const sources = [env.JWT_SECRET, env.JWT_PUBLIC_KEY, env.JWT_JWKS_URL].filter((v) => v !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'set exactly one of JWT_SECRET (HS256), JWT_PUBLIC_KEY (RS256/ES256 PEM) or JWT_JWKS_URL',
      });
    }
    if (env.MARKETS && env.SERVICE_AREA) {
      ctx.addIssue({
        code: 'custom',
        path: ['SERVICE_AREA'],
        message: 'set MARKETS or SERVICE_AREA (the shorthand for one market), not both',
      });
    }
    if (env.DEV_TOKENS && env.JWT_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['DEV_TOKENS'], message: 'development tokens are signed with JWT_SECRET' });
    }
    if (env.DISPATCH_INITIAL_RADIUS_M > env.DISPATCH_MAX_RADIUS_M) {
      ctx.addIssue({
        code: 'custom',
        path: ['DISPATCH_INITIAL_RADIUS_M'],
        message: 'must not exceed DISPATCH_MAX_RADIUS_M',
      });
    }
    if (env.NODE_ENV === 'production' && env.PLAYBACK_SECRET === undefined && env.JWT_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['PLAYBACK_SECRET'],
        message: 'required in production unless JWT_SECRET is set (every process must sign playback URLs alike)',
      });
    }
    if (
      env.ADAPTERS === 'real' &&
      (env.OBJECT_STORE_ACCESS_KEY === undefined) !== (env.OBJECT_STORE_SECRET_KEY === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['OBJECT_STORE_SECRET_KEY'],
        message:
          'set both OBJECT_STORE_ACCESS_KEY and OBJECT_STORE_SECRET_KEY, or neither (the SDK then finds credentials itself)',
      });
    }
    if (env.DEV_TOKENS && !LOOPBACK_HOSTS.includes(env.HOST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEV_TOKENS'],
        message: `mints any role for anyone: only with HOST bound to loopback (${LOOPBACK_HOSTS.join(', ')})`,
      });
    }
    if (env.DEV_TOKENS && env.NODE_ENV === 'production') {
      ctx.addIssue({ code: 'custom', path: ['DEV_TOKENS'], message: 'must not be 1 in production' });
    }
  });

export type JwtKeySource =
  | { kind: 'secret'; algorithm: 'HS256'; secret: string }
  | { kind: 'public-key'; algorithm: 'RS256' | 'ES256'; pem: string }
  | { kind: 'jwks'; algorithms: ['RS256', 'ES256']; url: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The validated, typed configuration of a process. Read once at start-up; inject where needed. */
export class AppConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly functionsPort: number;
  readonly adapters: 'memory' | 'real';
  readonly kafka: {
    brokers: string[];
    clientId: string;
    topicPrefix: string;
    minFetchIntervalMs: number;
    /** Under load, produce requests start at most this often (Kafka's linger.ms). */
    lingerMs: number;
    /** A consumer silent this long is dropped from its group and its partitions go to the others. */
    sessionTimeoutMs: number;
  };
  readonly redis: { url: string; clusterNodes?: string[]; keyPrefix: string };
  /** `maxLifetimeS`: the longest `exp - iat` accepted (a token valid for years is a leaked credential waiting). */
  readonly jwt: { issuer: string; audience: string; key: JwtKeySource; maxLifetimeS: number };
  readonly devTokens: boolean;
  readonly logLevel: string;
  readonly locationPushIntervalMs: number;
  /** Missed-event recovery: how long an idle room's history is kept, and at most how many pushes per room. */
  readonly recovery: { windowMs: number; maxPerRoom: number };
  /** HTTP requests each user may make per window across all gateways, and socket events per gateway; 0: no limit. */
  readonly rateLimit: { requests: number; windowS: number };
  /** Socket.IO connections one user may hold open on one gateway. */
  readonly socketsPerUser: number;
  /**
   * What callers without a valid token may use, per IP address and gateway: requests
   * per rate-limit window (those without a token, and those whose token was refused;
   * 0: no limit), Engine.IO sessions not yet signed in, and how long one may take to sign in.
   */
  readonly anonymous: { requests: number; socketsPerIp: number; handshakeTimeoutMs: number };
  /** Browser origins besides the gateway's own that may call the API and open sockets (CORS_ORIGINS). */
  readonly corsOrigins: string[];
  readonly functions: { maxAttempts: number; concurrency: number };
  /** The route log: where (`DATABASE_URL`, `DATABASE_SCHEMA`), how long its raw rows are kept, and where the hourly report goes. */
  readonly archive: { url: string; schema: string; retentionDays: number; reportWebhookUrl: string | null };
  /**
   * Object storage: the S3 endpoint and credentials (null: the SDK's own chain,
   * e.g. a workload identity), the buckets of uploads and of what is made from
   * them, and the directory the embedded default uses instead.
   */
  readonly objects: {
    url: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string } | null;
    uploadsBucket: string;
    mediaBucket: string;
    dir: string;
  };
  /** Proof-of-delivery photos: how long a signed photo URL lives. */
  readonly proofs: { urlTtlS: number };
  /** The schedules the scheduler fires: the catalog's, or the deployment's own (`SCHEDULES`). */
  readonly schedules: readonly ScheduleSpec[];
  readonly dispatch: {
    offerTtlMs: number;
    maxAttempts: number;
    initialRadiusM: number;
    maxRadiusM: number;
    /** Wait after a search that found no free courier; doubled after each such search. */
    retryMs: number;
    /** A courier whose last fix is older than this is not offered orders. */
    staleAfterMs: number;
  };
  /** At least one; the first is where a courier with no position yet is kept. */
  readonly markets: readonly MarketArea[];
  /** Signed playback URLs (API.md "Playback"): the HMAC key, and a URL's default (and longest) lifetime. */
  readonly playback: { secret: Buffer; ttlS: number };
  /** The bearer token `/metrics` asks for; null: it answers anyone (keep it off the public network then). */
  readonly metricsToken: string | null;
  readonly mix: {
    maxInputs: number;
    /** Streams that may be live at once: per host, and in all (each is an ffmpeg somewhere). */
    maxRooms: { perHost: number; total: number };
    /** ffmpeg (re)starts per room per minute: faster changes are applied together, the latest one. */
    restartsPerMin: number;
    inputHosts: string[];
    outputHosts: string[];
    testSources: boolean;
    /** libsrt options an srt:// URL may set in its query (none by default). */
    srtOptions: string[];
    /** The CA bundle ffmpeg verifies https and rtmps peers against. */
    caFile: string;
    /** Where the mix writes each stream's HLS (`<dir>/<streamId>/index.m3u8`) and the gateway serves it from. */
    hlsDir: string;
    /** How long a stopped (or abandoned) stream's HLS stays served before it is deleted. */
    hlsRetainS: number;
    canvas: { width: number; height: number; fps: number };
    segmentS: number;
    x264Preset: string;
    maxRestarts: number;
    /** Times an RTMP push the ingest refused or dropped is tried again (with backoff) before it is `failed`. */
    pushRetries: number;
    inputTimeoutS: number;
    ffmpegPath: string;
  };

  private constructor(env: z.output<typeof Env>) {
    this.env = env.NODE_ENV;
    this.host = env.HOST;
    this.port = env.PORT;
    this.functionsPort = env.FUNCTIONS_PORT;
    this.adapters = env.ADAPTERS;
    this.kafka = {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      topicPrefix: env.KAFKA_TOPIC_PREFIX,
      minFetchIntervalMs: env.KAFKA_FETCH_INTERVAL_MS,
      lingerMs: env.KAFKA_LINGER_MS,
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    };
    this.redis = {
      url: env.REDIS_URL,
      ...(env.REDIS_CLUSTER_NODES?.length ? { clusterNodes: env.REDIS_CLUSTER_NODES } : {}),
      keyPrefix: env.REDIS_KEY_PREFIX,
    };
    this.jwt = {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      key: jwtKeySource(env),
      maxLifetimeS: env.JWT_MAX_LIFETIME_S,
    };
    this.devTokens = env.DEV_TOKENS;
    this.logLevel = env.LOG_LEVEL;
    this.locationPushIntervalMs = env.LOCATION_PUSH_INTERVAL_MS;
    this.recovery = { windowMs: env.RECOVERY_WINDOW_S * 1000, maxPerRoom: env.RECOVERY_HISTORY_MAX };
    this.rateLimit = { requests: env.RATE_LIMIT_REQUESTS, windowS: env.RATE_LIMIT_WINDOW_S };
    this.socketsPerUser = env.SOCKETS_PER_USER;
    this.anonymous = {
      requests: env.ANON_RATE_LIMIT_REQUESTS,
      socketsPerIp: env.ANON_SOCKETS_PER_IP,
      handshakeTimeoutMs: env.SOCKET_HANDSHAKE_TIMEOUT_S * 1000,
    };
    this.corsOrigins = env.CORS_ORIGINS;
    this.functions = { maxAttempts: env.FUNCTION_MAX_ATTEMPTS, concurrency: env.FUNCTION_CONCURRENCY };
    this.dispatch = {
      offerTtlMs: env.OFFER_TTL_S * 1000,
      maxAttempts: env.DISPATCH_MAX_ATTEMPTS,
      initialRadiusM: env.DISPATCH_INITIAL_RADIUS_M,
      maxRadiusM: env.DISPATCH_MAX_RADIUS_M,
      retryMs: Math.round(env.DISPATCH_RETRY_S * 1000),
      staleAfterMs: env.COURIER_STALE_AFTER_S * 1000,
    };
    this.markets = env.MARKETS ?? [{ name: DEFAULT_MARKET, area: env.SERVICE_AREA ?? null }];
    this.schedules = env.SCHEDULES ?? SCHEDULES;
    this.archive = {
      url: env.DATABASE_URL,
      schema: env.DATABASE_SCHEMA,
      retentionDays: env.ARCHIVE_RETENTION_DAYS,
      reportWebhookUrl: env.REPORT_WEBHOOK_URL ?? null,
    };
    this.objects = {
      url: env.OBJECT_STORE_URL,
      region: env.OBJECT_STORE_REGION,
      credentials:
        env.OBJECT_STORE_ACCESS_KEY !== undefined && env.OBJECT_STORE_SECRET_KEY !== undefined
          ? { accessKeyId: env.OBJECT_STORE_ACCESS_KEY, secretAccessKey: env.OBJECT_STORE_SECRET_KEY }
          : null,
      uploadsBucket: env.OBJECT_STORE_UPLOADS_BUCKET,
      mediaBucket: env.OBJECT_STORE_MEDIA_BUCKET,
      dir: resolve(env.OBJECTS_DIR),
    };
    this.proofs = { urlTtlS: env.PROOF_URL_TTL_S };
    this.playback = { secret: playbackSecret(env), ttlS: env.PLAYBACK_TTL_S };
    this.metricsToken = env.METRICS_TOKEN ?? null;
    const [width, height] = env.MIX_OUTPUT_SIZE.split('x').map(Number) as [number, number];
    this.mix = {
      maxInputs: env.MIX_MAX_INPUTS,
      maxRooms: { perHost: env.MIX_MAX_ROOMS_PER_HOST, total: env.MIX_MAX_ROOMS },
      restartsPerMin: env.MIX_RESTARTS_PER_MIN,
      inputHosts: env.MIX_INPUT_HOSTS,
      outputHosts: env.MIX_OUTPUT_HOSTS,
      testSources: env.MIX_TEST_SOURCES,
      srtOptions: env.MIX_SRT_OPTIONS,
      caFile: env.MIX_CA_FILE,
      hlsDir: resolve(env.MIX_HLS_DIR),
      hlsRetainS: env.MIX_HLS_RETAIN_S,
      canvas: { width: even(width), height: even(height), fps: env.MIX_FPS },
      segmentS: env.MIX_SEGMENT_S,
      x264Preset: env.MIX_X264_PRESET,
      maxRestarts: env.MIX_MAX_RESTARTS,
      pushRetries: env.MIX_PUSH_RETRIES,
      inputTimeoutS: env.MIX_INPUT_TIMEOUT_S,
      ffmpegPath: env.FFMPEG_PATH,
    };
  }

  /** Validates the environment; throws a ConfigError naming every bad variable. */
  static fromEnv(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
    const parsed = Env.safeParse(present);
    if (!parsed.success) {
      throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`));
    }
    try {
      return new AppConfig(parsed.data);
    } catch (err) {
      throw new ConfigError([(err as Error).message]);
    }
  }
}

/**
 * PLAYBACK_SECRET; else a key derived from JWT_SECRET (HKDF, its own label, so
 * neither key tells anything of the other), which every process of a stack
 * shares already; else (development, with a public key or JWKS) a random one,
 * good for this process only.
 */
function playbackSecret(env: z.output<typeof Env>): Buffer {
  if (env.PLAYBACK_SECRET !== undefined) return Buffer.from(env.PLAYBACK_SECRET, 'utf8');
  if (env.JWT_SECRET !== undefined) {
    return Buffer.from(hkdfSync('sha256', env.JWT_SECRET, 'dispatch-mesh', 'playback-url-signing', 32));
  }
  return randomBytes(32);
}

/** H.264 in 4:2:0 needs even dimensions. */
const even = (n: number) => Math.max(2, n - (n % 2));

function jwtKeySource(env: z.output<typeof Env>): JwtKeySource {
  if (env.JWT_SECRET !== undefined) return { kind: 'secret', algorithm: 'HS256', secret: env.JWT_SECRET };
  if (env.JWT_JWKS_URL !== undefined) return { kind: 'jwks', algorithms: ['RS256', 'ES256'], url: env.JWT_JWKS_URL };
  const pem = (env.JWT_PUBLIC_KEY ?? '').replace(/\\n/g, '\n');
  let keyType: string | undefined;
  try {
    keyType = createPublicKey(pem).asymmetricKeyType;
  } catch {
    throw new Error('JWT_PUBLIC_KEY: not a PEM public key');
  }
  if (keyType === 'rsa') return { kind: 'public-key', algorithm: 'RS256', pem };
  if (keyType === 'ec') return { kind: 'public-key', algorithm: 'ES256', pem };
  throw new Error(`JWT_PUBLIC_KEY: ${keyType ?? 'unknown'} keys are not supported (RSA or EC P-256)`);
}
