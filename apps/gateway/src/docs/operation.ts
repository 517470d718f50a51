import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export const OPERATION = 'mesh:operation';

/** Content by media type, for what is not one JSON schema (pictures, CSV). */
export type MediaContent = Record<string, { schema: Record<string, unknown> }>;

/**
 * What a /v1 route is, for its OpenAPI operation. Only what the route itself
 * cannot tell: its method, path, status, roles, and the zod schemas of its
 * path, query and body (the ones that validate it) are read from the route, and
 * the answers they imply (400, 401, 403, 413, 415, 429, 503) are added from them.
 */
export interface OperationDoc {
  /** The operationId: what a generated client names the call. */
  id: string;
  tag: 'couriers' | 'orders' | 'offers' | 'streams' | 'admin' | 'development';
  summary: string;
  description?: string;
  /** The success answer (its status is the route's `@HttpCode`): what it is, and its JSON body or other content. */
  ok: {
    description: string;
    schema?: z.ZodType;
    content?: MediaContent;
    headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
  };
  /** Answers of this route besides those implied, by status; also overrides an implied one's description (empty: it has none). */
  problems?: Partial<Record<number, string>>;
  /** What each path parameter is, and the schema of one the handler checks itself. */
  params?: Record<string, string | { description: string; schema: z.ZodType }>;
  /** Header and query parameters the handler reads itself (the schema it checks them with). */
  reads?: Record<string, { in: 'header' | 'query'; description: string; schema: z.ZodType }>;
  /** A body the handler reads itself, not through a `ZodPipe`: JSON of a schema (`required` false: may be left out), or other content. */
  body?:
    { schema: z.ZodType; required: boolean } | { content: MediaContent; problems: Partial<Record<number, string>> };
}

/** Documents a /v1 route; the OpenAPI document is built from these and the routes (docs/openapi.ts). */
export const Operation = (doc: OperationDoc) => SetMetadata(OPERATION, doc);
