import { phonePhoto, pngBomb } from '@mesh/harness';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import {
  PROOF_HEAD_BYTES,
  PROOF_MAX_PIXELS,
  PhotoRefused,
  inspectHead,
  inspectPhoto,
  renderProof,
} from './proof-photo';

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

describe('proof photos of any size', () => {
  it.each([
    [300, 200],
    [64, 48],
    [3, 2],
    [4000, 90],
  ])('watermarks a %i × %i picture within its bounds', async (width, height) => {
    const picture = await sharp({ create: { width, height, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();
    const { photo, w128 } = await renderProof(picture, { orderId: '01HZX3K9V8Q2M4N6P7R8S9T0VW', at: new Date() });
    const [full, small] = await Promise.all([sharp(photo).metadata(), sharp(w128).metadata()]);
    expect([full.width, full.height]).toEqual([width, height]);
    expect(Math.max(small.width ?? 0, small.height ?? 0)).toBe(Math.min(128, Math.max(width, height)));
    // The corner is changed by the band (unless the picture is too small to hold any of it).
    const corner = await sharp(photo)
      .extract({ left: width - 1, top: height - 1, width: 1, height: 1 })
      .raw()
      .toBuffer();
    if (width >= 64) expect(corner[1]).toBeLessThan(0xaa - 40);
  });
});

/** Why `inspect` refused, or null when it did not. */
function refusal(inspect: () => unknown): PhotoRefused['reason'] | null {
  try {
    inspect();
    return null;
  } catch (err) {
    if (err instanceof PhotoRefused) return err.reason;
    throw err;
  }
}

describe('the head of an upload', () => {
  it('tells the type and upright size from the first bytes alone', async () => {
    const photo = await phonePhoto();
    expect(inspectHead(photo.subarray(0, PROOF_HEAD_BYTES))).toEqual({ format: 'jpeg', width: 800, height: 1200 });
    const webp = await sharp({ create: { width: 5000, height: 4000, channels: 3, background: '#123' } })
      .webp()
      .toBuffer();
    expect(inspectHead(webp.subarray(0, 64))).toEqual({ format: 'webp', width: 5000, height: 4000 });
  });

  it('refuses what is not a JPEG, PNG or WebP, and a bomb, by its header', async () => {
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .gif()
      .toBuffer();
    for (const body of [Buffer.from('%PDF-1.7\n%%EOF\n'), gif, Buffer.alloc(0)]) {
      expect(refusal(() => inspectHead(body))).toBe('not-an-accepted-image');
    }
    expect(refusal(() => inspectHead(pngBomb(20_000, 20_000).subarray(0, 1024)))).toBe('too-many-pixels');
  });
});
