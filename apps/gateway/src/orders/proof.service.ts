import { Inject, Injectable } from '@nestjs/common';
import { EventBus, newEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { TOPIC_OF_EVENT, newId, type OrderView, type Principal } from '@mesh/contracts';
import { DispatchStore, announced, commitUnlessUnchanged, requireProofAllowed, submitProof } from '@mesh/dispatch';
import {
  PROOF_CONTENT_TYPES,
  PROOF_FILES,
  PROOF_HEAD_BYTES,
  PROOF_MAX_BYTES,
  PhotoRefused,
  ProofLinks,
  inspectHead,
  proofRenditionKey,
  proofUploadKey,
  type ProofRendition,
} from '@mesh/media';
import { ObjectStore, ObjectTooLarge, type StoredObject } from '@mesh/objects';
import { ProblemCode, ProblemError, problems } from '@mesh/problem';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { OrdersService } from './orders.service';

const SOURCE = '/gateway/orders';
/**
 * How long an upload waits for Kafka to take its object-created event before the
 * courier is told to retry (503). Longer than placing an order waits: the photo is
 * stored already, and sending it again costs the courier far more than waiting.
 */
const PUBLISH_TIMEOUT_MS = 5_000;

/**
 * Proof-of-delivery photos (API.md "Proof of delivery"). An upload is checked
 * from its first bytes (type by content, pixels by header) before anything is
 * stored, then streamed to object storage; its object-created event goes on
 * Kafka, and only then is the order marked `processing`. The image function
 * takes it from there, so a gateway dying at any point leaves either nothing
 * the courier was told of, or a photo that is processed.
 */
@Injectable()
export class ProofService {
  constructor(
    private readonly orders: OrdersService,
    private readonly store: DispatchStore,
    private readonly objects: ObjectStore,
    private readonly bus: EventBus,
    private readonly links: ProofLinks,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async upload(who: Principal, orderId: string, body: Readable): Promise<OrderView> {
    // Who and when first: nothing of a body that would be refused is read or stored.
    requireProofAllowed(await this.assigned(who, orderId));
    const { head, rest } = await takeHead(body, PROOF_HEAD_BYTES);
    let format;
    try {
      ({ format } = inspectHead(head));
    } catch (err) {
      if (!(err instanceof PhotoRefused)) throw err;
      throw new ProblemError(
        err.reason === 'too-many-pixels' ? ProblemCode.Unprocessable : ProblemCode.UnsupportedMediaType,
        err.message,
      );
    }
    const uploadId = newId();
    const { uploadsBucket } = this.config.objects;
    let stored: StoredObject;
    try {
      stored = await this.objects.put(uploadsBucket, proofUploadKey(orderId, uploadId), Readable.from(rest), {
        contentType: PROOF_CONTENT_TYPES[format],
        maxBytes: PROOF_MAX_BYTES,
      });
    } catch (err) {
      if (err instanceof ObjectTooLarge) {
        throw new ProblemError(ProblemCode.PayloadTooLarge, `The photo is larger than ${PROOF_MAX_BYTES} bytes.`);
      }
      // The client went away mid-upload: nobody to answer.
      if (body.errored) throw err;
      this.logger.error({ err, orderId }, 'a proof photo could not be stored');
      throw problems.dependencyDown('The photo could not be stored; nothing was kept. Retry shortly.');
    }
    await this.announceStored(stored);
    const { order, change } = await commitUnlessUnchanged(this.store, async () => {
      const current = await this.assigned(who, orderId);
      const proof = submitProof(current, uploadId, new Date());
      return proof ? announced(proof, 'order.proof_uploaded', SOURCE) : { unchanged: current };
    });
    if (change) await this.orders.settled(change);
    return this.orders.present(order);
  }

  /** A rendition of a proof photo, for whoever holds a valid signed URL of it; null when there is none. */
  async rendition(
    orderId: string,
    uploadId: string,
    rendition: ProofRendition,
    token: string,
  ): Promise<{ body: Readable; contentType: string; size: number } | null> {
    if (!this.links.verify(orderId, uploadId, token)) {
      throw problems.forbidden('This photo link is not valid or has expired; fetch the order for a fresh one.');
    }
    const found = await this.objects.get(
      this.config.objects.mediaBucket,
      proofRenditionKey(orderId, uploadId, rendition),
    );
    if (!found) return null;
    return { body: found.body, contentType: PROOF_FILES[rendition].contentType, size: found.object.size };
  }

  private async assigned(who: Principal, orderId: string) {
    const order = await this.orders.visible(who, orderId);
    this.orders.requireAssignedCourier(who, order);
    return order;
  }

  /**
   * Puts the object-created event on Kafka, as S3 would notify it, before the
   * upload is answered: the photo is then processed even if this gateway dies
   * next. Its id names the object's key and version, so the event said twice is
   * handled once.
   */
  private async announceStored(object: StoredObject): Promise<void> {
    const { bucket, key, version, size, contentType } = object;
    const id = createHash('sha256').update(`${bucket}\n${key}\n${version}`).digest('base64url');
    const event = newEvent(
      'object.created',
      { bucket, key, version, size, contentType },
      { source: `/objects/${bucket}`, key, subject: key, id },
    );
    try {
      await this.bus.publish(TOPIC_OF_EVENT[event.type], event, { timeoutMs: PUBLISH_TIMEOUT_MS });
    } catch (err) {
      this.logger.error({ err, key }, 'object.created was not accepted by the bus');
      await this.objects.delete(bucket, key).catch(() => undefined);
      throw problems.dependencyDown('The photo could not be queued for processing; nothing was kept. Retry shortly.');
    }
  }
}

/**
 * The first `bytes` of a body (or all of a shorter one), and the whole body as
 * an iterable that starts with them: the head is looked at before the body is
 * streamed on, and nothing more than the head is ever held.
 */
async function takeHead(body: Readable, bytes: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      body.off('data', onData).off('end', onEnd).off('error', reject);
      body.pause();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= bytes) stop();
    };
    const onEnd = () => {
      ended = true;
      stop();
    };
    body.on('data', onData).once('end', onEnd).once('error', reject);
  });
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    if (!ended) yield* body as AsyncIterable<Buffer>;
  }
  return { head, rest: rest() };
}
