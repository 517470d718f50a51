import { Controller, Get, Headers, HttpCode, Param, Put, Query, Req, Res } from '@nestjs/common';
import { OrderView, ResourceId, type Principal } from '@mesh/contracts';
import { PROOF_CONTENT_TYPES, PROOF_MAX_BYTES, renditionOfFile } from '@mesh/media';
import { ProblemCode, ProblemError, problems } from '@mesh/problem';
import type { Request, Response } from 'express';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { CurrentPrincipal, Public, Roles } from '../auth/auth.decorators';
import { Operation } from '../docs/operation';
import { ProofService } from './proof.service';

const ACCEPTED_TYPES: readonly string[] = Object.values(PROOF_CONTENT_TYPES);
/** How long a refused upload's remaining body is read before the answer goes anyway. */
const DRAIN_WAIT_MS = 5_000;
const binary = { schema: { type: 'string', format: 'binary' } };

/** `PUT /v1/orders/{id}/proof` takes the photo as the raw body (the JSON body parser leaves it alone). */
export const RAW_BODY_ROUTE = /^\/v1\/orders\/[^/]+\/proof$/;

@Controller('v1/orders')
export class ProofController {
  constructor(private readonly proofs: ProofService) {}

  @Put(':id/proof')
  @Roles('courier')
  @HttpCode(202)
  @Operation({
    id: 'uploadProof',
    tag: 'orders',
    summary: 'Send the proof-of-delivery photo (its assigned courier)',
    description:
      'The body is the photo itself: JPEG, PNG or WebP (told by its bytes, not the header), at most 10 MiB and 40 megapixels. Once the order is picked up or delivered; a new photo replaces the old one. Answered when stored; the image function then strips its metadata, makes a 512 px and a 128 px WebP and a watermarked full-size JPEG, and `order.updated` carries `proof.status: ready` with signed URLs (or `failed` with why).',
    params: { id: 'The order id' },
    body: {
      content: Object.fromEntries(ACCEPTED_TYPES.map((type) => [type, binary])),
      problems: {
        413: 'Body over 10 MiB',
        415: 'Not a JPEG, PNG or WebP image',
        422: 'A picture of more than 40 megapixels',
      },
    },
    ok: { description: 'The order, its proof `processing`', schema: OrderView },
    problems: {
      404: 'No such order, or not one the caller may see',
      409: 'The order is not picked up or delivered',
      503: 'Object storage or the event bus did not take the photo; nothing was kept',
    },
  })
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
      // Whatever of the body was not read is read and dropped before the answer goes, so the client,
      // still sending, is not cut off (EPIPE) and hears it; the connection is not kept for another
      // request behind a body of unknown length. A client that sends on and on is waited for a while only.
      if (!req.readableEnded) {
        res.setHeader('Connection', 'close');
        req.resume();
        await Promise.race([once(req, 'end'), delay(DRAIN_WAIT_MS, undefined, { ref: false })]).catch(() => undefined);
      }
      throw err;
    }
  }

  /** The photo behind a signed URL (ProofLinks): no bearer token, the URL's token is the credential. */
  @Get(':id/proof/:uploadId/:file')
  @Public()
  @Operation({
    id: 'getProofPhoto',
    tag: 'orders',
    summary: 'A proof photo, by its signed URL',
    description:
      'The URLs of an order view’s `proof` (`photo.jpg`, the watermarked full size; `w128.webp`, the thumbnail; `w512.webp`, for screens). No bearer token: the URL’s `token` is the credential, valid for `PROOF_URL_TTL_S` (default 15 minutes) and given only with the order, to those who may see it.',
    params: {
      id: 'The order id',
      uploadId: 'The photo’s upload',
      file: { description: 'Which rendition', schema: z.enum(['photo.jpg', 'w512.webp', 'w128.webp']) },
    },
    reads: { token: { in: 'query', description: 'The signed URL’s credential', schema: z.string() } },
    ok: { description: 'The picture', content: { 'image/jpeg': binary, 'image/webp': binary } },
    problems: {
      403: 'The token is missing, forged, for another photo, or expired',
      404: 'No such photo (a replaced one is deleted)',
      503: 'Object storage is not answering',
    },
  })
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
