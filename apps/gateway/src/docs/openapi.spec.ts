import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '@mesh/config';
import { MAX_NEARBY_LIMIT, MAX_NEARBY_RADIUS_M, MAX_ORDER_PAGE } from '@mesh/contracts';
import { silentLogger } from '@mesh/harness';
import { createGateway } from '../bootstrap';
import { buildOpenApiDocument, routesOf } from './openapi';

interface Operation {
  operationId: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

describe('the OpenAPI document, built from the routes and the schemas that validate them', () => {
  let app: INestApplication;
  let doc: Document;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );
  const op = (method: string, path: string) => {
    const found = doc.paths[path]?.[method];
    if (!found) throw new Error(`${method} ${path} is not documented`);
    return found;
  };

  beforeAll(async () => {
    const config = AppConfig.fromEnv({
      JWT_SECRET: 'a-secret-for-the-document-test-only-0123456789',
      ADAPTERS: 'memory',
      DEV_TOKENS: '1',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    });
    app = await createGateway(config, silentLogger);
    doc = buildOpenApiDocument(app) as unknown as Document;
  });
  afterAll(() => app.close());

  it('has every /v1 route once, each with an operationId of its own', () => {
    const routes = routesOf(app).filter((r) => r.path.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThan(25);
    expect(
      operations()
        .map((o) => `${o.method.toUpperCase()} ${o.path}`)
        .sort(),
    ).toEqual(routes.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort());
    const ids = operations().map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('takes query parameters from the schema that validates them, limits and defaults included', () => {
    const nearby = op('get', '/v1/couriers/nearby').parameters ?? [];
    const param = (name: string) => nearby.find((p) => p.name === name);
    expect(param('lat')).toMatchObject({ in: 'query', required: true, schema: { minimum: -90, maximum: 90 } });
    expect(param('limit')).toMatchObject({
      required: false,
      schema: { minimum: 1, maximum: MAX_NEARBY_LIMIT, default: 20 },
    });
    // A radius of 0 is refused by the route, so the document does not offer it.
    expect(param('radiusM')?.schema).toMatchObject({ exclusiveMinimum: 0, maximum: MAX_NEARBY_RADIUS_M });
    const orders = op('get', '/v1/orders').parameters ?? [];
    expect(orders.find((p) => p.name === 'limit')?.schema).toMatchObject({ minimum: 1, maximum: MAX_ORDER_PAGE });
  });

  it('names each body and answer once and refers to it', () => {
    const refs = JSON.stringify(doc.paths).match(/#\/components\/schemas\/OrderView"/g) ?? [];
    expect(refs.length).toBeGreaterThanOrEqual(8);
    expect(doc.components.schemas).toHaveProperty('OrderView');
    expect(op('post', '/v1/orders').requestBody?.content['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/PlaceOrder',
    });
  });

  it('lists the answers a route can give: 503 on reads too, 401 unless public, 403 where roles are asked', () => {
    for (const { path, method, op: o } of operations()) {
      const statuses = Object.keys(o.responses);
      const where = `${method} ${path}`;
      expect({ where, rateLimited: statuses.includes('429') }).toEqual({ where, rateLimited: true });
      if (path !== '/v1/dev/tokens') expect({ where, away: statuses.includes('503') }).toEqual({ where, away: true });
      if (o.security?.length !== 0) expect({ where, auth: statuses.includes('401') }).toEqual({ where, auth: true });
    }
    expect(Object.keys(op('get', '/v1/orders/{id}').responses)).toEqual(['200', '401', '404', '429', '503']);
    expect(Object.keys(op('get', '/v1/admin/functions').responses)).toContain('403');
    expect(op('get', '/v1/orders/{id}/proof/{uploadId}/{file}').security).toEqual([]);
  });

  it('refuses to be built while a /v1 route has no @Operation', async () => {
    @Controller('v1/forgotten')
    class Forgotten {
      @Get()
      list(): string[] {
        return [];
      }
    }
    @Module({ controllers: [Forgotten] })
    class ForgottenModule {}
    const bare = await NestFactory.create(ForgottenModule, { logger: false });
    try {
      expect(() => buildOpenApiDocument(bare)).toThrow('GET /v1/forgotten has no @Operation');
    } finally {
      await bare.close();
    }
  });
});
