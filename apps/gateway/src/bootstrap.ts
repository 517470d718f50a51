import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { GATEWAY_IDLE_KEEP_ALIVE_MS, type AppConfig } from '@mesh/config';
import { PlatformModule } from '@mesh/platform';
import { RedisConnection } from '@mesh/redis';
import { redactUrlToken } from '@mesh/media';
import { redactPlaybackToken } from '@mesh/streams';
import { Metrics, PinoNestLogger, type Logger } from '@mesh/telemetry';
import type { IncomingMessage } from 'node:http';
import { pinoHttp } from 'pino-http';
import { buildOpenApiDocument } from './docs/openapi';
import { GatewayModule } from './gateway.module';
import helmet from 'helmet';
import { anonymousRequests, bodyErrors, httpMetrics, jsonBody, requestId } from './http/http-edge';
import { ANONYMOUS_BUDGET, type RequestBudget } from './rate-limit/request-budget';
import { MeshIoAdapter } from './realtime/mesh-io.adapter';

/**
 * Pending connections the kernel may hold for the gateway (capped by
 * net.core.somaxconn). Node's default of 511 overflows when a fleet of couriers
 * comes online at once: the kernel drops the SYNs and clients retry after a
 * second, which customers placing orders at that moment feel as a 1 s stall.
 */
const LISTEN_BACKLOG = 4_096;

/** Starts serving on HOST:PORT; resolves once listening. */
export async function listenGateway(app: INestApplication, config: AppConfig): Promise<void> {
  // Nest's listen() passes extra arguments on to Node's server.listen(port, host, backlog); its types do not say so.
  await (app.listen as unknown as (port: number, host: string, backlog: number) => Promise<unknown>).call(
    app,
    config.port,
    config.host,
    LISTEN_BACKLOG,
  );
}

/**
 * Builds the gateway application. `extra` lets the embedded process host the
 * functions in the same Nest application, sharing the in-memory adapters.
 */
export async function createGateway(
  config: AppConfig,
  logger: Logger,
  extra: DynamicModule[] = [],
): Promise<INestApplication> {
  const root: DynamicModule = {
    module: class GatewayRootModule {},
    imports: [PlatformModule.forRoot(config, logger), GatewayModule.forRoot(config), ...extra],
  };
  const app = await NestFactory.create<NestExpressApplication>(root, {
    bodyParser: false,
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
  });
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestId);
  app.use(
    pinoHttp({
      logger,
      genReqId: (req: IncomingMessage) => String(req.headers['x-request-id']),
      // Bind only the request id per request; the request itself is written with the lines that are logged.
      quietReqLogger: true,
      // Playback and photo URLs' tokens are capabilities: whoever reads the logs must not be able to use them.
      serializers: {
        req: (req: { url?: string }) => ({ ...req, url: redactUrlToken(redactPlaybackToken(req.url ?? '')) }),
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
    }),
  );
  app.use(httpMetrics(app.get(Metrics)));
  app.use(anonymousRequests(app.get<RequestBudget>(ANONYMOUS_BUDGET)));
  // Security headers: helmet's defaults (CSP, HSTS, nosniff, no framing, no referrer…), but no
  // upgrade-insecure-requests: TLS is the load balancer's, and plain-http dev stacks must still work.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins, maxAge: 600 });
  app.use(jsonBody);
  app.use(bodyErrors);

  const redis = config.adapters === 'real' ? app.get(RedisConnection) : undefined;
  app.useWebSocketAdapter(
    new MeshIoAdapter(
      app,
      {
        corsOrigins: config.corsOrigins,
        anonymousPerIp: config.anonymous.socketsPerIp,
        handshakeTimeoutMs: config.anonymous.handshakeTimeoutMs,
      },
      redis && {
        pub: redis.publisher(),
        sub: redis.shardedSubscriber(),
        keyPrefix: config.redis.keyPrefix,
      },
    ),
  );
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app) as unknown as OpenAPIObject, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });
  app.enableShutdownHooks();
  // Keep idle connections open longer than clients and load balancers do (their usual 60 s),
  // so a client never reuses a connection the server is closing at that moment (ECONNRESET).
  const server = app.getHttpServer();
  server.keepAliveTimeout = GATEWAY_IDLE_KEEP_ALIVE_MS;
  server.headersTimeout = GATEWAY_IDLE_KEEP_ALIVE_MS + 1_000;
  return app;
}
