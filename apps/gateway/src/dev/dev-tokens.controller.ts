import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { TokenIssuer } from '@mesh/auth';
import { DevToken, DevTokenRequest } from '@mesh/contracts';
import { Public } from '../auth/auth.decorators';
import { Operation } from '../docs/operation';
import { ZodPipe } from '../http/zod.pipe';

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
