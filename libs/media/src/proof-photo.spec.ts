import exifReader from 'exif-reader';
import zlib, { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { PROOF_MAX_PIXELS, PhotoRefused, inspectPhoto, renderProof } from './proof-photo';

/** A 1200 × 800 photo as a phone takes it: turned sideways in EXIF (orientation 6), with where it was taken. */
async function phonePhoto(): Promise<Buffer> {
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
function pngBomb(width: number, height: number): Buffer {
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

const meanOf = async (image: Buffer, region: { left: number; top: number; width: number; height: number }) => {
  // stats() reads its input, so the region is cut out first.
  const { channels } = await sharp(await sharp(image).extract(region).png().toBuffer()).stats();
  return channels.slice(0, 3).map((c) => c.mean);
};

describe('proof photos', () => {
  it('tells a JPEG, PNG or WebP by its bytes, as the picture will stand upright', async () => {
    const photo = await phonePhoto();
    expect(exifReader((await sharp(photo).metadata()).exif as Buffer).GPSInfo?.GPSLatitude).toEqual([52, 31, 12]);
    await expect(inspectPhoto(photo)).resolves.toEqual({ format: 'jpeg', width: 800, height: 1200 });
    const png = await sharp({ create: { width: 3, height: 2, channels: 4, background: '#fff' } })
      .png()
      .toBuffer();
    await expect(inspectPhoto(png)).resolves.toEqual({ format: 'png', width: 3, height: 2 });
  });

  it('refuses what is not an accepted image, whatever it is called', async () => {
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    );
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .gif()
      .toBuffer();
    for (const body of [pdf, svg, gif, Buffer.alloc(0)]) {
      await expect(inspectPhoto(body)).rejects.toMatchObject({ reason: 'not-an-accepted-image' });
    }
  });

  it('refuses a decompression bomb from its header, before decoding it', async () => {
    // 20,000 × 20,000 pixels: under a megabyte of PNG, 400 MB once decoded.
    const bomb = pngBomb(20_000, 20_000);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const refused = inspectPhoto(bomb);
    await expect(refused).rejects.toBeInstanceOf(PhotoRefused);
    await expect(refused).rejects.toMatchObject({ reason: 'too-many-pixels' });
    expect(20_000 * 20_000).toBeGreaterThan(PROOF_MAX_PIXELS);
  }, 30_000);

  it('renders upright renditions without any metadata, and a watermark in the full-size corner', async () => {
    const original = await phonePhoto();
    const { photo, w512, w128 } = await renderProof(original, {
      orderId: '01HZX3K9V8Q2M4N6P7R8S9T0VW',
      at: new Date('2026-12-05T12:03:00Z'),
    });
    const metaOf = (b: Buffer) => sharp(b).metadata();
    const [full, mid, small] = await Promise.all([metaOf(photo), metaOf(w512), metaOf(w128)]);
    expect([full.format, full.width, full.height]).toEqual(['jpeg', 800, 1200]);
    expect([mid.format, mid.width, mid.height]).toEqual(['webp', 341, 512]);
    expect([small.format, Math.max(small.width ?? 0, small.height ?? 0)]).toEqual(['webp', 128]);
    for (const m of [full, mid, small]) {
      expect(m.exif).toBeUndefined();
      expect(m.orientation).toBeUndefined();
    }
    // Upright: the EXIF turn put the original's blue left half on top.
    expect((await meanOf(photo, { left: 0, top: 0, width: 800, height: 100 }))[2]).toBeGreaterThan(150);
    // The lower right corner (orange in the original) is darkened by the watermark's band and lit by its text.
    const upright = await sharp(original).rotate().toBuffer();
    const corner = { left: 700, top: 1180, width: 90, height: 12 };
    const [before, after] = await Promise.all([meanOf(upright, corner), meanOf(photo, corner)]);
    const distance = Math.hypot(...before.map((v, i) => v - (after[i] as number)));
    expect(distance).toBeGreaterThan(60);
    // Elsewhere the picture is unchanged (within JPEG's loss).
    const [plainBefore, plainAfter] = await Promise.all([
      meanOf(upright, { left: 100, top: 700, width: 200, height: 200 }),
      meanOf(photo, { left: 100, top: 700, width: 200, height: 200 }),
    ]);
    expect(Math.hypot(...plainBefore.map((v, i) => v - (plainAfter[i] as number)))).toBeLessThan(6);
  });
});
