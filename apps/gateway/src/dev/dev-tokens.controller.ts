import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { TokenIssuer } from '@mesh/auth';
import { Role } from '@mesh/contracts';
import { z } from 'zod';
import { Public } from '../auth/auth.decorators';
import { Operation } from '../docs/operation';
import { ZodPipe } from '../http/zod.pipe';

export const DevTokenRequest = z.strictObject({
  sub: z.string().min(1).max(200),
  roles: z.array(Role).min(1).max(5),
});
type DevTokenRequest = z.infer<typeof DevTokenRequest>;
export const DevToken = z.object({ token: z.string() });
type DevToken = z.infer<typeof DevToken>;

/** `POST /v1/dev/tokens`: mounted only when DEV_TOKENS=1 (the embedded default), so a 404 otherwise. */
@Controller('v1/dev/tokens')
@Public()
export class DevTokensController {
  constructor(private readonly issuer: TokenIssuer) {}

  @Post()
  @HttpCode(201)
  @Operation({
    id: 'issueDevToken',
    tag: 'development',
    summary: 'Mint a development token (only with DEV_TOKENS=1)',
    ok: { description: 'A signed token', schema: DevToken },
    // Nothing behind it to be away.
    problems: { 503: '' },
  })
  async issue(@Body(new ZodPipe(DevTokenRequest)) body: DevTokenRequest): Promise<DevToken> {
    return { token: await this.issuer.issue(body) };
  }
}
