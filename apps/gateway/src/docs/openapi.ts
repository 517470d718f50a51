import { RequestMethod, type INestApplication, type Type } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import {
  ActivationList,
  AvailabilityChange,
  ChangeLayout,
  CourierList,
  CourierTrail,
  CourierView,
  CreateStream,
  DevToken,
  DevTokenRequest,
  DispatchReport,
  FunctionHealthList,
  LocationReport,
  NearbyCouriers,
  OrderList,
  OrderView,
  PlaceOrder,
  PlaybackRequest,
  PlaybackView,
  ScheduleList,
  SetParticipant,
  StreamList,
  StreamView,
  type ProblemDetails,
} from '@mesh/contracts';
import { z } from 'zod';
import { PUBLIC_ROUTE, REQUIRED_ROLES } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod.pipe';
import { OPERATION, type OperationDoc } from './operation';

type Schema = Record<string, unknown>;

/**
 * The schemas the document names once (components) and refers to: request
 * bodies as clients send them, answers as the gateway gives them. A route whose
 * body or answer is not here fails the build of the document (and its test).
 */
const BODIES = {
  PlaceOrder,
  LocationReport,
  AvailabilityChange,
  CreateStream,
  SetParticipant,
  ChangeLayout,
  PlaybackRequest,
  DevTokenRequest,
} satisfies Record<string, z.ZodType>;
const ANSWERS = {
  OrderView,
  OrderList,
  CourierView,
  CourierList,
  NearbyCouriers,
  StreamView,
  StreamList,
  PlaybackView,
  FunctionHealthList,
  ScheduleList,
  ActivationList,
  DispatchReport,
  CourierTrail,
  DevToken,
} satisfies Record<string, z.ZodType>;

const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  } satisfies Record<keyof ProblemDetails, Schema>,
};

/** The answers every route of a kind can give, unless its operation says otherwise. */
const IMPLIED = {
  invalid: 'Invalid input; `errors` names each bad field',
  tooBig: 'Body over 64 KiB',
  notJson: 'Body not application/json',
  noToken: 'No, expired or invalid bearer token',
  wrongRole: 'Authenticated, but the role does not allow this',
  tooMany:
    'The caller went over its budget of requests for the window (`RATE_LIMIT_REQUESTS` per `RATE_LIMIT_WINDOW_S`); nothing was done',
  away: 'A dependency (Redis, Kafka) is not answering; nothing was done, try again',
};

/** One route as Nest knows it, with what its decorators and pipes say. */
interface Route {
  method: string;
  path: string;
  status: number;
  doc: OperationDoc | undefined;
  isPublic: boolean;
  roles: readonly string[];
  pathParams: Map<string, z.ZodType | undefined>;
  query: z.ZodType | undefined;
  body: z.ZodType | undefined;
}

/** Every route of the application's controllers, read from their decorators. */
export function routesOf(app: INestApplication): Route[] {
  const routes: Route[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const own = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`.replace(/:(\w+)/g, '{$1}');
        const verb = RequestMethod[method].toLowerCase();
        const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<
          string,
          { data?: unknown; pipes?: unknown[] }
        >;
        const pathParams = new Map<string, z.ZodType | undefined>(
          [...path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, undefined]),
        );
        let query: z.ZodType | undefined;
        let body: z.ZodType | undefined;
        for (const [key, arg] of Object.entries(args)) {
          const type = Number(key.split(':')[0]) as RouteParamtypes;
          const schema = arg.pipes?.find((p): p is ZodPipe<z.ZodType> => p instanceof ZodPipe)?.schema;
          if (type === RouteParamtypes.PARAM && typeof arg.data === 'string') pathParams.set(arg.data, schema);
          // The whole query or body through a pipe; one field of it read by name is the operation's to tell (`reads`).
          if (type === RouteParamtypes.QUERY && schema && arg.data === undefined) query = schema;
          if (type === RouteParamtypes.BODY && schema && arg.data === undefined) body = schema;
        }
        routes.push({
          method: verb,
          path,
          status:
            (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ??
            (method === RequestMethod.POST ? 201 : 200),
          doc: Reflect.getMetadata(OPERATION, handler) as OperationDoc | undefined,
          isPublic: Boolean(
            Reflect.getMetadata(PUBLIC_ROUTE, handler) ?? Reflect.getMetadata(PUBLIC_ROUTE, controller),
          ),
          roles: (Reflect.getMetadata(REQUIRED_ROLES, handler) ??
            Reflect.getMetadata(REQUIRED_ROLES, controller) ??
            []) as string[],
          pathParams,
          query,
          body,
        });
      }
    }
  }
  return routes;
}

/**
 * A tuple of one type (a GeoJSON position) as an array of that type of fixed length: the same
 * values, said in the form every OpenAPI tool reads (Schemathesis refuses `prefixItems`).
 */
function sameTypeTuples({ jsonSchema: schema }: { jsonSchema: Schema }): void {
  const items = schema.prefixItems as Schema[] | undefined;
  if (!items?.length || !items.every((item) => JSON.stringify(item) === JSON.stringify(items[0]))) return;
  delete schema.prefixItems;
  schema.items = items[0];
  schema.minItems = items.length;
  schema.maxItems = items.length;
}

/** A schema's JSON Schema, without the dialect line OpenAPI 3.1 takes as given. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Schema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: sameTypeTuples,
  }) as Schema;
  return rest;
}

/** The named schemas of `named`, each referring to the others by `#/components/schemas/…`. */
function components(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, Schema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    override: sameTypeTuples,
    uri: (id) => `#/components/schemas/${id}`,
  }) as unknown as { schemas: Record<string, Schema> };
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...rest }]) => [id, rest]),
  );
}

/** `#/components/schemas/<name>` of a registered schema; a schema not registered is a mistake of the document. */
function ref(named: Record<string, z.ZodType>, schema: z.ZodType, where: string): Schema {
  const name = Object.entries(named).find(([, s]) => s === schema)?.[0];
  if (!name) throw new Error(`${where}: its schema is not among the document's components (docs/openapi.ts)`);
  return { $ref: `#/components/schemas/${name}` };
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The OpenAPI operation of one documented route. */
function operation(route: Route, doc: OperationDoc): Schema {
  const where = `${route.method.toUpperCase()} ${route.path}`;
  const parameters: Schema[] = [];
  let checked = route.query !== undefined;
  for (const [name, validated] of route.pathParams) {
    const told = doc.params?.[name];
    const schema = validated ?? (typeof told === 'object' ? told.schema : undefined);
    const description = typeof told === 'object' ? told.description : told;
    if (schema) checked = true;
    parameters.push({
      name,
      in: 'path',
      required: true,
      ...(description ? { description } : {}),
      schema: schema ? jsonSchema(schema, 'input') : { type: 'string' },
    });
  }
  if (route.query) {
    const query = jsonSchema(route.query, 'input') as { properties?: Record<string, Schema>; required?: string[] };
    const shape = route.query instanceof z.ZodObject ? (route.query.shape as Record<string, z.ZodType>) : {};
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      const { description, ...rest } = schema as Schema & { description?: string };
      // zod leaves a default out of an input schema when it sits on a preprocessed value (numbers from text).
      const absent = shape[name]?.safeParse(undefined);
      if (!('default' in rest) && absent?.success && absent.data !== undefined) rest.default = absent.data;
      parameters.push({
        name,
        in: 'query',
        required: query.required?.includes(name) ?? false,
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  for (const [name, read] of Object.entries(doc.reads ?? {})) {
    parameters.push({
      name,
      in: read.in,
      required: !read.schema.safeParse(undefined).success,
      description: read.description,
      schema: jsonSchema(read.schema, 'input'),
    });
  }

  const implied: Record<number, string> = {};
  let requestBody: Schema | undefined;
  const jsonBody = route.body ?? (doc.body && 'schema' in doc.body ? doc.body.schema : undefined);
  if (jsonBody) {
    const required = !(doc.body && 'schema' in doc.body && !doc.body.required);
    requestBody = { required, content: { 'application/json': { schema: ref(BODIES, jsonBody, where) } } };
    Object.assign(implied, { 400: IMPLIED.invalid, 413: IMPLIED.tooBig, 415: IMPLIED.notJson });
  } else if (doc.body && 'content' in doc.body) {
    requestBody = { required: true, content: doc.body.content };
    Object.assign(implied, doc.body.problems);
  }
  if (checked) implied[400] = IMPLIED.invalid;
  if (!route.isPublic) implied[401] = IMPLIED.noToken;
  if (route.roles.length > 0) implied[403] = IMPLIED.wrongRole;
  implied[429] = IMPLIED.tooMany;
  implied[503] = IMPLIED.away;

  const success: Schema = { description: doc.ok.description };
  if (doc.ok.schema) success.content = { 'application/json': { schema: ref(ANSWERS, doc.ok.schema, where) } };
  if (doc.ok.content) success.content = { ...(success.content as Schema | undefined), ...doc.ok.content };
  if (doc.ok.headers) success.headers = doc.ok.headers;
  const answers: Record<string, Schema> = { [String(route.status)]: success };
  const problems = { ...implied, ...doc.problems };
  for (const status of Object.keys(problems)
    .map(Number)
    .sort((a, b) => a - b)) {
    const description = problems[status];
    if (description) answers[String(status)] = problem(description);
  }
  const rateLimited = answers['429'];
  if (rateLimited) {
    rateLimited.headers = {
      'Retry-After': { description: 'Seconds until the window turns', schema: { type: 'integer', minimum: 1 } },
    };
  }

  return {
    operationId: doc.id,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(route.isPublic ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: answers,
  };
}

/**
 * The OpenAPI 3.1 document of every /v1 route, built from the routes themselves
 * (method, path, status, roles, validating schemas) and their `@Operation`s.
 * A /v1 route without one, or two with the same operationId, fail the build.
 */
export function buildOpenApiDocument(app: INestApplication): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  const ids = new Set<string>();
  for (const route of routesOf(app)) {
    if (!route.path.startsWith('/v1/') && route.path !== '/v1') continue;
    const where = `${route.method.toUpperCase()} ${route.path}`;
    if (!route.doc) throw new Error(`${where} has no @Operation: every /v1 route is documented`);
    if (ids.has(route.doc.id)) throw new Error(`${where}: operationId ${route.doc.id} is taken`);
    ids.add(route.doc.id);
    (paths[route.path] ??= {})[route.method] = operation(route, route.doc);
  }
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Dispatch Mesh API',
      version: '1',
      description: 'Real-time delivery dispatch and live co-hosted streams. Errors are RFC 9457 problem details.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'orders', description: 'Placing, following and moving orders' },
      { name: 'offers', description: 'A courier’s answer to an offer' },
      { name: 'couriers', description: 'Couriers’ positions and availability; the fleet' },
      { name: 'streams', description: 'Live rooms with co-hosts, mixed to HLS' },
      { name: 'admin', description: 'Dispatchers’ reports, functions and schedules' },
      { name: 'development', description: 'Only with DEV_TOKENS=1' },
    ],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: PROBLEM_SCHEMA, ...components(BODIES, 'input'), ...components(ANSWERS, 'output') },
    },
    paths: sortedPaths,
  };
}
