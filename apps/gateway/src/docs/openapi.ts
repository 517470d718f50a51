import {
  ActivationList,
  FunctionHealthList,
  ScheduleList,
  DispatchReport,
  CourierTrail,
  AvailabilityChange,
  INVOCATION_OUTCOME_VALUES,
  CourierView,
  LocationReport,
  MAX_NEARBY_RADIUS_M,
  MAX_ORDER_PAGE,
  NearbyCouriers,
  ORDER_STATUSES,
  OrderList,
  OrderView,
  PlaceOrder,
  ChangeLayout,
  PlaybackRequest,
  PlaybackView,
  CreateStream,
  SetParticipant,
  StreamView,
  StreamList,
  CourierList,
  MAX_FLEET_PAGE,
  MAX_STREAM_PAGE,
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
const tooManyRequests = {
  ...problem(
    'The caller went over its budget of requests for the window (`RATE_LIMIT_REQUESTS` per `RATE_LIMIT_WINDOW_S`); nothing was done',
  ),
  headers: {
    'Retry-After': { description: 'Seconds until the window turns', schema: { type: 'integer', minimum: 1 } },
  },
};
const authProblems = {
  '401': problem('No, expired or invalid bearer token'),
  '403': problem('Authenticated, but the role does not allow this'),
  '429': tooManyRequests,
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

const idParam = (what: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  description: `The ${what} id`,
  schema: { type: 'string' },
});
const notYours = { '404': problem('No such order, or not one the caller may see') };

/** An order action by id: who may call it, what it leads to, and its conflicts. */
const orderAction = (summary: string, description: string, success: string, okStatus = '200') => ({
  post: {
    tags: ['orders'],
    summary,
    description,
    parameters: [idParam('order')],
    responses: {
      [okStatus]: ok(success, OrderView),
      '409': problem('The order’s status does not allow this'),
      ...notYours,
      ...authProblems,
    },
  },
});

const streamProblems = {
  '404': problem('No such stream, or not one the caller may see'),
  '403': problem('The caller may see the stream but is not its host'),
  '401': authProblems['401'],
  '429': tooManyRequests,
};
const streamId = { name: 'id', in: 'path', required: true, description: 'The stream id', schema: { type: 'string' } };
const userIdParam = {
  name: 'userId',
  in: 'path',
  required: true,
  description: 'The participant (a user id, the JWT `sub`)',
  schema: { type: 'string' },
};
const MIX_REQUEST =
  'Answers 202 with the stream at its new `revision` once the stream-mix request is on Kafka; the mix function applies it (only the latest revision) and pushes `stream.updated` to `stream:{id}` and the host.';
/** A host's change of a live room: 202 with the new revision, or the problems every change can meet. */
const streamChange = (summary: string, extra: Schema = {}, conflicts = 'The stream’s state does not allow this') => ({
  tags: ['streams'],
  summary,
  description: MIX_REQUEST,
  parameters: [streamId],
  ...extra,
  responses: {
    '202': ok('The stream, as the host will see it', StreamView),
    '409': problem(conflicts),
    ...writeProblems,
    ...streamProblems,
  },
});

const started = streamChange(
  'Go live (again after a failure or a stop); a no-op while running',
  {},
  'No participants yet, or the host already has MIX_MAX_ROOMS_PER_HOST rooms live',
);
const goLive = {
  ...started,
  responses: {
    ...started.responses,
    '503': problem('Every live room of the deployment (MIX_MAX_ROOMS) is in use, or a dependency is down'),
  },
};

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
    '/v1/couriers': {
      get: {
        tags: ['couriers'],
        summary: 'The online couriers with a position, by id (dispatchers: the fleet map)',
        parameters: [
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: `1..${MAX_FLEET_PAGE} (default 500)`,
            schema: { type: 'integer' },
          },
        ],
        responses: { '200': ok('Couriers', CourierList), '400': problem('Invalid query'), ...authProblems },
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
    '/v1/orders': {
      post: {
        tags: ['orders'],
        summary: 'Place an order (customers)',
        description:
          'Answers 202 once the order is on Kafka; dispatch then offers it to the best available courier, and every change is pushed as `order.updated`. The same `Idempotency-Key` from the same customer (kept 24 h) answers with the same order, never a second one; a retry while the first request is still being processed gets 409; the same key with a different body gets 422.',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: '1-255 printable ASCII characters chosen by the client',
            schema: { type: 'string' },
          },
        ],
        requestBody: body(PlaceOrder),
        responses: {
          '202': {
            ...ok('The order, pending', OrderView),
            headers: { Location: { description: '/v1/orders/{id}', schema: { type: 'string' } } },
          },
          '409': problem('The same Idempotency-Key is still being processed'),
          '422': problem('Pickup or dropoff outside the service area, or an Idempotency-Key used with another body'),
          ...writeProblems,
          ...authProblems,
        },
      },
      get: {
        tags: ['orders'],
        summary: 'List the caller’s orders, newest first',
        description:
          'Dispatchers see all orders; otherwise a customer sees its own, a merchant those placed with it, a courier those assigned to it (a token with several roles lists by the widest of these, in that order).',
        parameters: [
          { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: [...ORDER_STATUSES] } },
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: `1..${MAX_ORDER_PAGE} (default 20)`,
            schema: { type: 'integer' },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            description: '`nextCursor` of the previous page',
            schema: { type: 'string' },
          },
        ],
        responses: { '200': ok('A page of orders', OrderList), '400': problem('Invalid query'), ...authProblems },
      },
    },
    '/v1/orders/{id}': {
      get: {
        tags: ['orders'],
        summary: 'One order',
        description:
          'For its customer, its merchant, its assigned courier or the courier it is offered to, and dispatchers.',
        parameters: [idParam('order')],
        responses: { '200': ok('The order', OrderView), ...notYours, ...authProblems },
      },
    },
    '/v1/orders/{id}/cancel': orderAction(
      'Cancel an order',
      'Its customer, before pick-up; any dispatcher, until delivery. A live offer is revoked (`offer.revoked`) and the courier is free again.',
      'The order, cancelled',
    ),
    '/v1/orders/{id}/redispatch': orderAction(
      'Dispatch an unassigned order again (dispatchers)',
      'Attempts and excluded couriers start over.',
      'The order, dispatching',
      '202',
    ),
    '/v1/orders/{id}/pickup': orderAction(
      'Mark an assigned order picked up (its courier)',
      'Only from `assigned`.',
      'The order, picked up',
    ),
    '/v1/orders/{id}/deliver': orderAction(
      'Mark a picked-up order delivered (its courier)',
      'Only from `picked_up`; the courier is available again.',
      'The order, delivered',
    ),
    '/v1/orders/{id}/proof': {
      put: {
        tags: ['orders'],
        summary: 'Send the proof-of-delivery photo (its assigned courier)',
        description:
          'The body is the photo itself: JPEG, PNG or WebP (told by its bytes, not the header), at most 10 MiB and 40 megapixels. Once the order is picked up or delivered; a new photo replaces the old one. Answered when stored; the image function then strips its metadata, makes a 512 px and a 128 px WebP and a watermarked full-size JPEG, and `order.updated` carries `proof.status: ready` with signed URLs (or `failed` with why).',
        parameters: [idParam('order')],
        requestBody: {
          required: true,
          content: Object.fromEntries(
            ['image/jpeg', 'image/png', 'image/webp'].map((type) => [
              type,
              { schema: { type: 'string', format: 'binary' } },
            ]),
          ),
        },
        responses: {
          '202': ok('The order, its proof `processing`', OrderView),
          '409': problem('The order is not picked up or delivered'),
          '413': problem('Body over 10 MiB'),
          '415': problem('Not a JPEG, PNG or WebP image'),
          '422': problem('A picture of more than 40 megapixels'),
          '503': problem('Object storage or the event bus did not take the photo; nothing was kept'),
          ...notYours,
          ...authProblems,
        },
      },
    },
    '/v1/orders/{id}/proof/{uploadId}/{file}': {
      get: {
        tags: ['orders'],
        summary: 'A proof photo, by its signed URL',
        description:
          'The URLs of an order view’s `proof` (`photo.jpg`, the watermarked full size; `w128.webp`, the thumbnail; `w512.webp`, for screens). No bearer token: the URL’s `token` is the credential, valid for `PROOF_URL_TTL_S` (default 15 minutes) and given only with the order, to those who may see it.',
        security: [],
        parameters: [
          idParam('order'),
          { name: 'uploadId', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'file',
            in: 'path',
            required: true,
            schema: { type: 'string', enum: ['photo.jpg', 'w512.webp', 'w128.webp'] },
          },
          { name: 'token', in: 'query', required: true, schema: { type: 'string' } },
        ],
        responses: {
          '200': {
            description: 'The picture',
            content: {
              'image/jpeg': { schema: { type: 'string', format: 'binary' } },
              'image/webp': { schema: { type: 'string', format: 'binary' } },
            },
          },
          '403': problem('The token is missing, forged, for another photo, or expired'),
          '404': problem('No such photo (a replaced one is deleted)'),
          '429': tooManyRequests,
        },
      },
    },
    '/v1/admin/functions': {
      get: {
        tags: ['admin'],
        summary: 'Each function’s replicas, lag and recent rates (dispatchers)',
        description:
          'Replicas are the members of the function’s consumer group, wherever they run; rates come from the invocation records of the last 5 minutes.',
        responses: { '200': ok('Functions', FunctionHealthList), ...authProblems },
      },
    },
    '/v1/admin/schedules': {
      get: {
        tags: ['admin'],
        summary: 'The scheduled functions (dispatchers)',
        description:
          'Each schedule: cron or interval, time zone, its last fire with the outcome of its invocation (`fired` until its function has finished with it), and its next fire.',
        responses: { '200': ok('Schedules', ScheduleList), ...authProblems },
      },
    },
    '/v1/admin/reports/dispatch': {
      get: {
        tags: ['admin'],
        summary: 'Dispatch report from the route log, per hour or per area (dispatchers)',
        description:
          'For the orders placed from `from` (taken back to the start of its hour) until `to`, at most 31 days: placed, delivered, cancelled, unassigned (dispatch gave up at least once); seconds from placing to the first assignment (p50/p95/p99), to pick-up and to delivery (p50), read from histograms whose buckets are 10% wide (the upper bound); metres the couriers covered from assignment to delivery, per delivery. `groupBy=hour` keys rows by the hour (UTC, ISO), `area` by the H3 cell (resolution 7) of the pickup. `format=csv`: the same columns with a header row.',
        parameters: [
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'groupBy', in: 'query', required: false, schema: { type: 'string', enum: ['hour', 'area'] } },
          { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv'] } },
        ],
        responses: {
          '200': {
            description: 'The report',
            content: {
              'application/json': { schema: json(DispatchReport, 'output') },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          '400': problem('Invalid query (times, span over 31 days, groupBy, format)'),
          '503': problem('The route log is not answering'),
          ...authProblems,
        },
      },
    },
    '/v1/admin/couriers/{id}/trail': {
      get: {
        tags: ['admin'],
        summary: 'A courier’s trail while on orders (dispatchers)',
        description:
          'Its archived positions from `from` to `to` (at most 24 hours) as a GeoJSON feature: a LineString ([lng, lat]) with `properties.times` and `properties.orderIds` per position; one position is a Point, none a null geometry.',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
        ],
        responses: {
          '200': ok('The trail', CourierTrail),
          '400': problem('Invalid query (times, span over 24 hours)'),
          '503': problem('The route log is not answering'),
          ...authProblems,
        },
      },
    },
    '/v1/admin/activations': {
      get: {
        tags: ['admin'],
        summary: 'Function invocations, newest first (dispatchers)',
        description:
          'Every invocation of the functions that record them (the location function records failures only): function, event id, start, duration, outcome and error. The newest 100,000 are kept.',
        parameters: [
          { name: 'function', in: 'query', required: false, schema: { type: 'string' } },
          {
            name: 'outcome',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: [...INVOCATION_OUTCOME_VALUES] },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: '1..500 (default 50)',
            schema: { type: 'integer' },
          },
        ],
        responses: { '200': ok('Invocations', ActivationList), '400': problem('Invalid query'), ...authProblems },
      },
    },
    '/v1/offers/{id}/accept': {
      post: {
        tags: ['offers'],
        summary: 'Accept an offer (the offered courier)',
        parameters: [idParam('offer')],
        responses: {
          '200': ok('The order, assigned to the caller, with its ETA', OrderView),
          '404': problem('No such offer for this courier'),
          '409': problem('The offer expired, was revoked or was already answered'),
          ...authProblems,
        },
      },
    },
    '/v1/offers/{id}/decline': {
      post: {
        tags: ['offers'],
        summary: 'Decline an offer (the offered courier)',
        description: 'Dispatch moves on to the next courier; the decliner is not offered this order again.',
        parameters: [idParam('offer')],
        responses: {
          '204': ok('Declined'),
          '404': problem('No such offer for this courier'),
          '409': problem('The offer expired, was revoked or was already answered'),
          ...authProblems,
        },
      },
    },
    '/v1/streams': {
      get: {
        tags: ['streams'],
        summary: 'The newest live rooms, URLs masked (dispatchers)',
        parameters: [
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: `1..${MAX_STREAM_PAGE} (default 50)`,
            schema: { type: 'integer' },
          },
        ],
        responses: { '200': ok('Rooms, newest first', StreamList), '400': problem('Invalid query'), ...authProblems },
      },
      post: {
        tags: ['streams'],
        summary: 'Open a live room (hosts)',
        description:
          'The room starts `idle` with no participants; the host usually adds itself first. `output.rtmpUrl` (rtmp/rtmps on a host in MIX_OUTPUT_HOSTS) also pushes the mix to a CDN ingest. The mixed HLS is served at `output.hlsUrl` (a signed `/live/{id}/{token}/index.m3u8` path on the gateway) once started.',
        requestBody: body(CreateStream),
        responses: { '201': ok('The new stream', StreamView), ...writeProblems, ...authProblems },
      },
    },
    '/v1/streams/{id}': {
      get: {
        tags: ['streams'],
        summary: 'A live room (its host, its participants, dispatchers)',
        description:
          'Input and RTMP URLs are shown whole to the host only; everyone else sees them masked to `scheme://host/…` (paths and queries carry stream keys).',
        parameters: [streamId],
        responses: { '200': ok('The stream', StreamView), ...streamProblems },
      },
    },
    '/v1/streams/{id}/participants/{userId}': {
      put: streamChange(
        'Add a co-host or change one (volume 0..2, muted)',
        {
          parameters: [streamId, userIdParam],
          requestBody: body(SetParticipant),
          description: `${MIX_REQUEST} \`inputUrl\` is rtmp, rtmps, srt, http or https on a host matching MIX_INPUT_HOSTS, or \`test:color=<name>\` / \`test:pattern\` when MIX_TEST_SOURCES=1; anything else (file:, concat:, lavfi graphs, other hosts, credentials in the URL) is a 400.`,
        },
        'Already MIX_MAX_INPUTS participants',
      ),
      delete: streamChange(
        'Remove a participant',
        { parameters: [streamId, userIdParam] },
        'The last participant of a live stream',
      ),
    },
    '/v1/streams/{id}/layout': {
      put: streamChange('Choose the layout (grid, speaker, pip) and its focus', { requestBody: body(ChangeLayout) }),
    },
    '/v1/streams/{id}/start': { post: goLive },
    '/v1/streams/{id}/stop': {
      post: streamChange('Stop the mix; a no-op when stopped', {}, 'Never started'),
    },
    '/v1/streams/{id}/playback': {
      post: {
        tags: ['streams'],
        summary: 'A signed playback URL of the mixed HLS, to share with an audience (its host)',
        description:
          'Anyone holding the URL can play until `expiresAt` (PLAYBACK_TTL_S, 6 h by default; `ttlS` may ask for less). Segment URIs in the playlist are relative, so they carry the token too. `/live` answers 404 without a valid token.',
        parameters: [streamId],
        requestBody: { ...body(PlaybackRequest), required: false },
        responses: { '201': ok('A playback URL', PlaybackView), '400': problem('Invalid input'), ...streamProblems },
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
