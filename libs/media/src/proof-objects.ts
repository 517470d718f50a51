import { UrlTokens } from '@mesh/auth';
import type { ProofView } from '@mesh/contracts';

/**
 * Where a proof photo's objects live: the upload as sent, in the uploads bucket
 * (`proofs/{orderId}/{uploadId}`), and what the image function makes of it, in
 * the media bucket (`proofs/{orderId}/{uploadId}/{file}`). Ids are ULIDs, so
 * keys never collide and a newer upload sorts after an older one.
 */
export const PROOF_FILES = {
  photo: { file: 'photo.jpg', contentType: 'image/jpeg' },
  medium: { file: 'w512.webp', contentType: 'image/webp' },
  thumbnail: { file: 'w128.webp', contentType: 'image/webp' },
} as const;
export type ProofRendition = keyof typeof PROOF_FILES;

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const UPLOAD_KEY = new RegExp(`^proofs/(${ULID})/(${ULID})$`);

export const proofUploadKey = (orderId: string, uploadId: string) => `proofs/${orderId}/${uploadId}`;
export const proofRenditionKey = (orderId: string, uploadId: string, rendition: ProofRendition) =>
  `proofs/${orderId}/${uploadId}/${PROOF_FILES[rendition].file}`;

/** The order and upload an uploads-bucket key names, or null for any other key. */
export function parseProofUploadKey(key: string): { orderId: string; uploadId: string } | null {
  const match = UPLOAD_KEY.exec(key);
  return match ? { orderId: match[1] as string, uploadId: match[2] as string } : null;
}

/** The rendition a file name in a signed URL names, or null. */
export function renditionOfFile(file: string): ProofRendition | null {
  const found = (Object.keys(PROOF_FILES) as ProofRendition[]).find((r) => PROOF_FILES[r].file === file);
  return found ?? null;
}

/**
 * Signed, expiring URLs of a proof photo's renditions (API.md "Proof of
 * delivery"): `/v1/orders/{orderId}/proof/{uploadId}/{file}?token=…`. One token
 * covers every rendition of one upload; it is given only with the order, so only
 * to those who may see it, and whoever holds it may fetch the photo until it
 * expires (an <img> sends no bearer token).
 */
export class ProofLinks {
  private readonly tokens: UrlTokens;

  constructor(
    secret: Buffer,
    readonly ttlS: number,
  ) {
    this.tokens = new UrlTokens(secret, 'proof-photo');
  }

  /** The proof as shown to someone who may see its order: with URLs once its photo is ready. */
  view(
    orderId: string,
    uploadId: string | null | undefined,
    proof: ProofView | null,
    nowMs = Date.now(),
  ): ProofView | null {
    if (!proof || proof.status !== 'ready' || !uploadId) return proof;
    const token = this.tokens.sign(`${orderId}/${uploadId}`, Math.floor(nowMs / 1000) + this.ttlS);
    const url = (rendition: ProofRendition) =>
      `/v1/orders/${orderId}/proof/${uploadId}/${PROOF_FILES[rendition].file}?token=${token}`;
    return { ...proof, photoUrl: url('photo'), thumbnailUrl: url('thumbnail') };
  }

  verify(orderId: string, uploadId: string, token: string, nowMs = Date.now()): boolean {
    return this.tokens.verify(`${orderId}/${uploadId}`, token, nowMs);
  }
}

/** A URL token in a logged URL, replaced: whoever reads logs must not be able to fetch with it. */
export function redactUrlToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]');
}
