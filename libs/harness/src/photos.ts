import zlib, { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** A 1200 × 800 photo as a phone takes it: turned sideways in EXIF (orientation 6), with where it was taken. */
export async function phonePhoto(): Promise<Buffer> {
  // Left half blue, right half orange, so where each ends up and what the watermark covers are known.
  const [width, height] = [1200, 800];
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    pixels.set(i % width < width / 2 ? [0x22, 0x55, 0xaa] : [0xee, 0x88, 0x33], i * 3);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '52/1 31/1 12/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '13/1 24/1 18/1',
      },
    })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A real PNG decompression bomb: `width` × `height` grey pixels, all zero, deflated to almost nothing. */
export function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, no filter, no interlace
  // Each row: filter byte 0, then `width` zero bytes.
  const pixels = zlib.deflateSync(Buffer.alloc((width + 1) * height), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
