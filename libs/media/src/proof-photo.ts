import { imageSize } from 'image-size';
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
  // Orientations 5–8 turn the picture a quarter.
  return accepted(format, meta.width, meta.height, (meta.orientation ?? 1) >= 5);
}

/** The facts of a picture of `format` (undefined: not one taken), refused when it has too many pixels. */
function accepted(format: ProofFormat | undefined, width = 0, height = 0, turned: boolean): PhotoFacts {
  if (!format || !width || !height) {
    throw new PhotoRefused('not-an-accepted-image', 'The body is not a JPEG, PNG or WebP image.');
  }
  if (width * height > PROOF_MAX_PIXELS) {
    throw new PhotoRefused(
      'too-many-pixels',
      `The picture has ${width} × ${height} pixels; at most ${PROOF_MAX_PIXELS / 1_000_000} megapixels are taken.`,
    );
  }
  return { format, width: turned ? height : width, height: turned ? width : height };
}

/** How much of an upload's beginning is read to tell what it is before any of it is stored. */
export const PROOF_HEAD_BYTES = 512 * 1024;

const HEAD_FORMATS: Readonly<Record<string, ProofFormat>> = { jpg: 'jpeg', png: 'png', webp: 'webp' };

/**
 * What an upload is, from its first bytes (up to PROOF_HEAD_BYTES, or all of a
 * shorter one), so that the body can be refused before it is stored and
 * streamed on otherwise. Only the header is parsed (image-size): the type and
 * the pixel count. The image function decodes it in full later (inspectPhoto)
 * and marks the proof failed if the rest does not hold up.
 */
export function inspectHead(head: Buffer): PhotoFacts {
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(head);
  } catch {
    throw new PhotoRefused('not-an-accepted-image', 'The body is not a JPEG, PNG or WebP image.');
  }
  return accepted(
    size.type ? HEAD_FORMATS[size.type] : undefined,
    size.width,
    size.height,
    (size.orientation ?? 1) >= 5,
  );
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
        // libjpeg-turbo's own encoder: mozjpeg's trellis search saves a few percent of bytes at 7× the CPU.
        .jpeg({ quality: 85 })
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
    const pad = Math.min(Math.round(px / 2), Math.floor((Math.min(width, height) - 1) / 2));
    // Given a box, libvips sizes the text to fit it: a line `px` high, or less on a narrow picture.
    const rendered = await sharp({
      text: {
        text: `<span foreground="white">${escapeMarkup(text)}</span>`,
        font: 'DejaVu Sans Bold',
        width: Math.max(1, width - 2 * pad),
        height: Math.max(1, Math.min(px, height - 2 * pad)),
        rgba: true,
      },
    })
      .png()
      .toBuffer({ resolveWithObject: true });
    const bandWidth = Math.min(width, rendered.info.width + 2 * pad);
    const bandHeight = Math.min(height, rendered.info.height + 2 * pad);
    return sharp({
      create: { width: bandWidth, height: bandHeight, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.6 } },
    })
      .composite([{ input: rendered.data, left: pad, top: pad }])
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
