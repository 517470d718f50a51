import { Controller, Get, Headers, HttpCode, Param, Put, Query, Req, Res } from '@nestjs/common';
import { ResourceId, type OrderView, type Principal } from '@mesh/contracts';
import { PROOF_CONTENT_TYPES, PROOF_MAX_BYTES, renditionOfFile } from '@mesh/media';
import { ProblemCode, ProblemError, problems } from '@mesh/problem';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { CurrentPrincipal, Public, Roles } from '../auth/auth.decorators';
import { ProofService } from './proof.service';

const ACCEPTED_TYPES: readonly string[] = Object.values(PROOF_CONTENT_TYPES);

/** `PUT /v1/orders/{id}/proof` takes the photo as the raw body (the JSON body parser leaves it alone). */
export const RAW_BODY_ROUTE = /^\/v1\/orders\/[^/]+\/proof$/;

@Controller('v1/orders')
export class ProofController {
  constructor(private readonly proofs: ProofService) {}

  @Put(':id/proof')
  @Roles('courier')
  @HttpCode(202)
  async upload(
    @CurrentPrincipal() me: Principal,
    @Param('id') id: string,
    @Headers('content-type') contentType: string | undefined,
    @Headers('content-length') contentLength: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderView> {
    try {
      if (Number(contentLength ?? 0) > PROOF_MAX_BYTES) {
        throw new ProblemError(ProblemCode.PayloadTooLarge, `The photo is larger than ${PROOF_MAX_BYTES} bytes.`);
      }
      const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!ACCEPTED_TYPES.includes(type)) {
        throw new ProblemError(
          ProblemCode.UnsupportedMediaType,
          `Send the photo as ${ACCEPTED_TYPES.join(', ')} (the bytes decide which it is).`,
        );
      }
      return await this.proofs.upload(me, id, req);
    } catch (err) {
      // Whatever of the body was not read is read and dropped, so the client hears the answer, and the
      // connection is not kept for another request behind a body of unknown length.
      if (!req.readableEnded) {
        res.setHeader('Connection', 'close');
        req.resume();
      }
      throw err;
    }
  }

  /** The photo behind a signed URL (ProofLinks): no bearer token, the URL's token is the credential. */
  @Get(':id/proof/:uploadId/:file')
  @Public()
  async rendition(
    @Param('id') id: string,
    @Param('uploadId') uploadId: string,
    @Param('file') file: string,
    @Query('token') token: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const rendition = renditionOfFile(file);
    if (!ResourceId.safeParse(id).success || !ResourceId.safeParse(uploadId).success || !rendition) {
      throw problems.notFound('No such photo.');
    }
    const found = await this.proofs.rendition(id, uploadId, rendition, typeof token === 'string' ? token : '');
    if (!found) throw problems.notFound('No such photo.');
    res.status(200).set({
      'Content-Type': found.contentType,
      'Content-Length': String(found.size),
      // The URL expires and is someone's: never in a shared cache, briefly in the holder's own.
      'Cache-Control': 'private, max-age=300',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
    await pipeline(found.body, res);
  }
}
