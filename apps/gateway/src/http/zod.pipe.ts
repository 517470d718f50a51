import type { PipeTransform } from '@nestjs/common';
import { parseOrThrow } from '@mesh/problem';
import type { z } from 'zod';

/** Validates a request part against its contract schema; a failure is a 400 problem naming each field. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  /** `schema` is public: the OpenAPI document describes the route by it (docs/openapi.ts). */
  constructor(
    readonly schema: S,
    private readonly where = 'body',
  ) {}

  transform(value: unknown): z.output<S> {
    return parseOrThrow(this.schema, value, this.where);
  }
}
