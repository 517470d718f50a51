import {
  AvailabilityChange,
  CourierView,
  LocationReport,
  MAX_NEARBY_RADIUS_M,
  NearbyCouriers,
  type ProblemDetails,
} from '@mesh/contracts';
import { z } from 'zod';
import { DevTokenRequest } from '../dev/dev-tokens.controller';

type Schema = Record<string, unknown>;

const json = (schema: z.ZodType, io: 'input' | 'output'): Schema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
};
const body = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: json(schema, 'input') } },
});
const ok = (description: string, schema?: z.ZodType) => ({
  description,
  ...(schema ? { content: { 'application/json': { schema: json(schema, 'output') } } } : {}),
});

const problemSchema: Schema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  } satisfies Record<keyof ProblemDetails, Schema>,
};
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const authProblems = {
  '401': problem('No, expired or invalid bearer token'),
  '403': problem('Authenticated, but the role does not allow this'),
};
const writeProblems = {
  '400': problem('Invalid input; `errors` names each bad field'),
  '413': problem('Body over 64 KiB'),
  '415': problem('Body not application/json'),
  '503': problem('The event bus did not accept the change'),
};
const queryNumber = (name: string, description: string, required = true) => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type: 'number' },
});

/** The OpenAPI 3.1 document of every /v1 route, from the same zod schemas that validate requests. */
export function buildOpenApiDocument(options: { devTokens: boolean }): Schema {
  const paths: Record<string, Schema> = {
    '/v1/couriers/me/location': {
      put: {
        tags: ['couriers'],
        summary: 'Report the calling courier’s position',
        description:
          'Accepted once on Kafka; visible through nearby search when the location function has applied it. A fix older than the stored one is ignored.',
        requestBody: body(LocationReport),
        responses: { '204': ok('On the event bus'), ...writeProblems, ...authProblems },
      },
    },
    '/v1/couriers/me/availability': {
      put: {
        tags: ['couriers'],
        summary: 'Go available or offline',
        description:
          'Answers with the status the change leads to; it is applied in order with the courier’s location updates.',
        requestBody: body(AvailabilityChange),
        responses: {
          '200': ok('The courier, as the change leaves it', CourierView),
          '409': problem('Going offline while offered or busy'),
          ...writeProblems,
          ...authProblems,
        },
      },
    },
    '/v1/couriers/me': {
      get: {
        tags: ['couriers'],
        summary: 'The calling courier',
        responses: { '200': ok('The courier', CourierView), ...authProblems },
      },
    },
    '/v1/couriers/nearby': {
      get: {
        tags: ['couriers'],
        summary: 'Online couriers near a point, nearest first (dispatchers)',
        parameters: [
          queryNumber('lat', 'Latitude, −90..90'),
          queryNumber('lng', 'Longitude, −180..180'),
          queryNumber('radiusM', `Radius in metres, ≤ ${MAX_NEARBY_RADIUS_M} (default 5000)`, false),
          queryNumber('limit', '1..100 (default 20)', false),
        ],
        responses: {
          '200': ok('Couriers with distanceM', NearbyCouriers),
          '400': problem('Invalid query'),
          ...authProblems,
        },
      },
    },
  };
  if (options.devTokens) {
    paths['/v1/dev/tokens'] = {
      post: {
        tags: ['development'],
        summary: 'Mint a development token (only with DEV_TOKENS=1)',
        security: [],
        requestBody: body(DevTokenRequest),
        responses: {
          '201': ok('A signed token', z.object({ token: z.string() })),
          '400': problem('Invalid input'),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Dispatch Mesh API',
      version: '1',
      description: 'Real-time delivery dispatch and live co-hosted streams. Errors are RFC 9457 problem details.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problemSchema },
    },
    paths,
  };
}
