import { Inject, Injectable } from '@nestjs/common';
import { DependencyUnavailable, type MeshEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import {
  DispatchStore,
  PROOF_ALLOWED,
  StateUnavailable,
  announced,
  commitUnlessUnchanged,
  settleProof,
  readBuilt,
} from '@mesh/dispatch';
import { Markets } from '@mesh/geo';
import {
  PROOF_FILES,
  PROOF_MAX_BYTES,
  parseProofUploadKey,
  proofRenditionKey,
  renderProof,
  type ProofRendition,
  type ProofRenditions,
} from '@mesh/media';
import { ObjectStore } from '@mesh/objects';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { Readable } from 'node:stream';
import type { MeshFunction } from '../host/mesh-function';

const SOURCE = '/functions/media';
const RENDITION_OF: Readonly<Record<ProofRendition, keyof ProofRenditions>> = {
  photo: 'photo',
  medium: 'w512',
  thumbnail: 'w128',
};

/**
 * The image function: triggered by an upload's object-created event, it makes
 * a proof photo's renditions (upright, no metadata, 512 and 128 px WebP, a
 * watermarked full-size JPEG) in the media bucket, then marks the order's proof
 * ready (or failed, with why), which pushes `order.updated` to everyone watching.
 * Idempotent by the object's key and version (the event's id), and every step
 * may run twice: the renditions are rewritten alike, the order settles once.
 */
@Injectable()
export class MediaFunction implements MeshFunction<'object.created'> {
  readonly name = 'media';
  readonly topic = 'media';
  readonly accepts = ['object.created'] as const;

  constructor(
    private readonly store: DispatchStore,
    private readonly markets: Markets,
    private readonly objects: ObjectStore,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(event: MeshEvent<'object.created'>): Promise<void> {
    const { bucket, key } = event.data;
    const upload = bucket === this.config.objects.uploadsBucket ? parseProofUploadKey(key) : null;
    if (!upload) {
      this.logger.warn({ bucket, key }, 'an object-created event of no proof photo was passed over');
      return;
    }
    const { orderId, uploadId } = upload;
    const order = await readBuilt(this.store, this.markets, () => this.store.order(orderId));
    if (!order) return;
    // A newer photo replaced this one, or its outcome is recorded: nothing to make.
    if (!settleProof(order, uploadId, { status: 'ready' }, new Date())) return;
    if (!PROOF_ALLOWED.includes(order.status) && order.proofUploadId !== uploadId) {
      // Its upload was refused after it was stored (the order was cancelled in between): it goes.
      await this.outage(() => this.objects.delete(bucket, key));
      return;
    }
    // Read whole under the outage rule: a store failing mid-read is waited for, not taken for a bad photo.
    const bytes = await this.outage(async () => {
      const original = await this.objects.get(bucket, key);
      return original && original.object.size <= PROOF_MAX_BYTES ? readAll(original.body) : null;
    });
    if (!bytes) return; // Deleted (its upload was refused after it was stored), or not one the gateway took.

    const at = deliveredAt(order.timeline) ?? new Date(event.time ?? Date.now());
    let outcome: { status: 'ready' } | { status: 'failed'; error: string };
    try {
      const renditions = await renderProof(bytes, { orderId, at });
      await this.outage(() =>
        Promise.all(
          (Object.keys(PROOF_FILES) as ProofRendition[]).map((r) =>
            this.objects.put(
              this.config.objects.mediaBucket,
              proofRenditionKey(orderId, uploadId, r),
              Readable.from([renditions[RENDITION_OF[r]]]),
              { contentType: PROOF_FILES[r].contentType, maxBytes: PROOF_MAX_BYTES * 4 },
            ),
          ),
        ),
      );
      outcome = { status: 'ready' };
    } catch (err) {
      if (err instanceof DependencyUnavailable) throw err;
      // The bytes are not a picture that can be processed (the upload's checks read only its header).
      this.logger.warn({ err, orderId, uploadId }, 'a proof photo could not be processed');
      outcome = { status: 'failed', error: 'The photo could not be read as an image.' };
    }
    const { change } = await commitUnlessUnchanged(this.store, async () => {
      const current = await this.store.order(orderId);
      if (!current) throw new StateUnavailable();
      const settled = settleProof(current, uploadId, outcome, new Date());
      return settled ? announced(settled, 'order.proof_processed', SOURCE) : { unchanged: current };
    });
    if (change) await this.forgetOlder(orderId, uploadId);
  }

  /**
   * What is no longer needed goes, best effort (a bucket lifecycle rule takes what
   * a crash leaves): the upload as sent, GPS and all, now that its renditions
   * exist (or it proved unreadable), and every photo this one replaced (uploaded
   * before it), in both buckets.
   */
  private async forgetOlder(orderId: string, uploadId: string): Promise<void> {
    const { uploadsBucket, mediaBucket } = this.config.objects;
    const prefix = `proofs/${orderId}/`;
    const uploadOf = (key: string) => key.slice(prefix.length).split('/')[0] ?? '';
    try {
      const [uploads, media] = await Promise.all([
        this.objects.keys(uploadsBucket, prefix),
        this.objects.keys(mediaBucket, prefix),
      ]);
      await Promise.all([
        ...uploads.filter((key) => uploadOf(key) <= uploadId).map((key) => this.objects.delete(uploadsBucket, key)),
        ...media.filter((key) => uploadOf(key) < uploadId).map((key) => this.objects.delete(mediaBucket, key)),
      ]);
    } catch (err) {
      this.logger.warn({ err, orderId }, 'proof photo objects no longer needed were not deleted');
    }
  }

  /** Object storage away is an outage: the event waits for it rather than being dead-lettered. */
  private async outage<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new DependencyUnavailable(err);
    }
  }
}

function deliveredAt(timeline: readonly { status: string; at: string }[]): Date | null {
  const entry = timeline.find((t) => t.status === 'delivered');
  return entry ? new Date(entry.at) : null;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
