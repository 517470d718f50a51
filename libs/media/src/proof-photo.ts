import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import type { Readable } from 'node:stream';

/** API.md: a proof-of-delivery photo is a JPEG, PNG or WebP of at most 10 MiB and 40 megapixels. */
export const PROOF_MAX_BYTES = 10 * 1024 * 1024;
export const PROOF_MAX_PIXELS = 40_000_000;
export const PROOF_FORMATS = ['jpeg', 'png', 'webp'] as const;
export type ProofFormat = (typeof PROOF_FORMATS)[number];
export const PROOF_CONTENT_TYPES: Readonly<Record<ProofFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** Why a photo was refused: not a picture of an accepted type (by its content), or too many pixels. */
export class PhotoRefused extends Error {
  constructor(
    readonly reason: 'not-an-accepted-image' | 'too-many-pixels',
    message: string,
  ) {
    super(message);
    this.name = 'PhotoRefused';
  }
}

export interface PhotoFacts {
  format: ProofFormat;
  /** As it will be seen: after turning it the way its EXIF orientation says. */
  width: number;
  height: number;
}

/**
 * What a photo really is, read from its bytes (never from a header or a name),
 * and its size, from its header alone: a decompression bomb is refused before
 * anything is decoded.
 */
export async function inspectPhoto(input: Buffer | Readable): Promise<PhotoFacts> {
  let meta: Metadata;
  try {
    meta = await read(input, { limitInputPixels: false }).metadata();
  } catch {
    throw new PhotoRefused('not-an-accepted-image', 'The body is not a JPEG, PNG or WebP image.');
  }
  const format = PROOF_FORMATS.find((f) => f === meta.format);
  if (!format || !meta.width || !meta.height) {
    throw new PhotoRefused('not-an-accepted-image', 'The body is not a JPEG, PNG or WebP image.');
  }
  if (meta.width * meta.height > PROOF_MAX_PIXELS) {
    throw new PhotoRefused(
      'too-many-pixels',
      `The picture has ${meta.width} × ${meta.height} pixels; at most ${PROOF_MAX_PIXELS / 1_000_000} megapixels are taken.`,
    );
  }
  const oriented = meta.autoOrient ?? { width: meta.width, height: meta.height };
  return { format, width: oriented.width, height: oriented.height };
}

export interface ProofRenditions {
  /** Full size, turned upright, no metadata, watermarked with the order and the time (JPEG). */
  photo: Buffer;
  /** At most 512 px on its longer side, then 128 px (WebP, no metadata). */
  w512: Buffer;
  w128: Buffer;
}

/**
 * The renditions of a proof photo: turned the way its EXIF orientation says,
 * with every piece of metadata (GPS included) left out, as sharp writes none
 * unless asked; the full-size copy carries the order id and the delivery time
 * in its lower right corner.
 */
export async function renderProof(input: Buffer, label: { orderId: string; at: Date }): Promise<ProofRenditions> {
  const facts = await inspectPhoto(input);
  const upright = () => read(input, { limitInputPixels: PROOF_MAX_PIXELS }).rotate();
  const [photo, w512, w128] = await Promise.all([
    watermark(facts).then((mark) =>
      upright()
        .composite([{ input: mark, gravity: 'southeast' }])
        .jpeg({ quality: 85, mozjpeg: true })
        .toBuffer(),
    ),
    upright().resize(512, 512, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer(),
    upright().resize(128, 128, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 75 }).toBuffer(),
  ]);
  return { photo, w512, w128 };

  /** White text on a dark band, sized to the picture (about a 45th of its width high). */
  async function watermark({ width, height }: PhotoFacts): Promise<Buffer> {
    const text = `order ${label.orderId} · ${label.at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const px = Math.max(10, Math.round(Math.min(width, height * 2) / 45));
    const rendered = await sharp({
      text: {
        text: `<span foreground="white">${escapeMarkup(text)}</span>`,
        font: `DejaVu Sans Bold ${px}px`,
        rgba: true,
        dpi: 72,
      },
    })
      .png()
      .toBuffer({ resolveWithObject: true });
    const pad = Math.round(px / 2);
    const bandWidth = Math.min(width, rendered.info.width + 2 * pad);
    const bandHeight = Math.min(height, rendered.info.height + 2 * pad);
    return sharp({
      create: { width: bandWidth, height: bandHeight, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.6 } },
    })
      .composite([{ input: rendered.data, left: Math.min(pad, bandWidth - 1), top: Math.min(pad, bandHeight - 1) }])
      .png()
      .toBuffer();
  }
}

function read(input: Buffer | Readable, options: { limitInputPixels: number | false }): Sharp {
  const opts: SharpOptions = { limitInputPixels: options.limitInputPixels, failOn: 'error' };
  if (Buffer.isBuffer(input)) return sharp(input, opts);
  const s = sharp(opts);
  input.pipe(s);
  return s;
}

function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
