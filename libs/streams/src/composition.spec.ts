import { compose, focusOf, layoutTiles, type CompositionRequest, type Rect } from './composition';

const canvas = { width: 1280, height: 720, fps: 30 };
const people = (n: number, muted: number[] = []) =>
  Array.from({ length: n }, (_, i) => ({ userId: `u${i}`, volume: 1, muted: muted.includes(i) }));
const request = (n: number, layout: CompositionRequest['layout'], focus: string | null = null): CompositionRequest => ({
  participants: people(n),
  layout,
  focus,
});

const inside = (r: Rect) => r.x >= 0 && r.y >= 0 && r.x + r.w <= canvas.width && r.y + r.h <= canvas.height;
const overlap = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('the composition', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9])(
    'grid of %i: every input gets its own tile, inside the frame, none overlapping',
    (n) => {
      const tiles = layoutTiles(request(n, 'grid'), canvas);
      expect(tiles.map((t) => t.input)).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const [i, a] of tiles.entries()) {
        expect(inside(a.rect)).toBe(true);
        expect((a.rect.w % 2) + (a.rect.h % 2)).toBe(0);
        for (const b of tiles.slice(i + 1)) expect(overlap(a.rect, b.rect)).toBe(false);
      }
    },
  );

  it('grid of 4 is the four quadrants, in participant order', () => {
    expect(layoutTiles(request(4, 'grid'), canvas).map((t) => t.rect)).toEqual([
      { x: 0, y: 0, w: 640, h: 360 },
      { x: 640, y: 0, w: 640, h: 360 },
      { x: 0, y: 360, w: 640, h: 360 },
      { x: 640, y: 360, w: 640, h: 360 },
    ]);
  });

  it('grid of 3 centres the short last row', () => {
    const last = layoutTiles(request(3, 'grid'), canvas)[2]!.rect;
    expect(last.x + last.w / 2).toBe(canvas.width / 2);
  });

  it('speaker: the focus takes the large region, the others a strip below it in order', () => {
    const tiles = layoutTiles(request(4, 'speaker', 'u2'), canvas);
    expect(tiles[0]).toEqual({ input: 2, userId: 'u2', rect: { x: 0, y: 0, w: 1280, h: 540 } });
    expect(tiles.slice(1).map((t) => [t.userId, t.rect.y, t.rect.h])).toEqual([
      ['u0', 540, 180],
      ['u1', 540, 180],
      ['u3', 540, 180],
    ]);
  });

  it('pip: the focus full frame and the next participant inset bottom right; a lone focus fills the frame', () => {
    const tiles = layoutTiles(request(3, 'pip', 'u1'), canvas);
    expect(tiles.map((t) => t.userId)).toEqual(['u1', 'u0']);
    expect(tiles[0]!.rect).toEqual({ x: 0, y: 0, w: 1280, h: 720 });
    const inset = tiles[1]!.rect;
    expect(inset.x + inset.w).toBeLessThan(1280);
    expect(inset.x).toBeGreaterThan(640);
    expect(inset.y).toBeGreaterThan(360);
    expect(layoutTiles(request(1, 'pip'), canvas).map((t) => t.rect)).toEqual([{ x: 0, y: 0, w: 1280, h: 720 }]);
  });

  it('focuses the first participant when the requested focus is not one', () => {
    expect(focusOf(request(3, 'speaker', 'gone'))).toBe('u0');
    expect(focusOf(request(3, 'speaker', 'u2'))).toBe('u2');
    expect(focusOf(request(0, 'speaker'))).toBeNull();
  });

  it('builds the same graph for the same request, drawing each tile over a black canvas', () => {
    const graph = compose(request(2, 'grid'), canvas).filterGraph;
    expect(compose(request(2, 'grid'), canvas).filterGraph).toBe(graph);
    expect(graph.split(';')).toEqual([
      'color=c=black:s=1280x720:r=30[base]',
      '[0:v]scale=640:720:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[v0]',
      '[1:v]scale=640:720:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[v1]',
      '[base][v0]overlay=x=0+(640-overlay_w)/2:y=0+(720-overlay_h)/2[c0]',
      '[c0][v1]overlay=x=640+(640-overlay_w)/2:y=0+(720-overlay_h)/2[c1]',
      '[c1]format=yuv420p[vout]',
      '[0:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume=1.00[a0]',
      '[1:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume=1.00[a1]',
      '[a0][a1]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0[aout]',
    ]);
  });

  it('mixes only unmuted inputs, each at its volume; silence when all are muted', () => {
    const some = compose(
      {
        participants: [...people(3, [1]).slice(0, 2), { userId: 'u2', volume: 0.5, muted: false }],
        layout: 'grid',
        focus: null,
      },
      canvas,
    );
    expect(some.audible).toEqual([0, 2]);
    expect(some.filterGraph).not.toContain('[1:a]');
    expect(some.filterGraph).toContain(
      '[2:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume=0.50[a2]',
    );
    expect(some.filterGraph).toContain('[a0][a2]amix=inputs=2');

    const one = compose({ participants: people(2, [0]), layout: 'grid', focus: null }, canvas);
    expect(one.filterGraph).toContain(
      '[1:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume=1.00[aout]',
    );
    const none = compose({ participants: people(2, [0, 1]), layout: 'grid', focus: null }, canvas);
    expect(none.audible).toEqual([]);
    expect(none.filterGraph).toContain('anullsrc=r=48000:cl=stereo[aout]');
  });

  it('never names the audio of an input that has none, and still shows its picture', () => {
    const mixed = compose({ participants: people(3), layout: 'grid', focus: null }, canvas, new Set([1]));
    expect(mixed.audible).toEqual([0, 2]);
    expect(mixed.filterGraph).not.toContain('[1:a]');
    expect(mixed.filterGraph).toContain('[1:v]');
    expect(mixed.filterGraph).toContain('[a0][a2]amix=inputs=2');
    const alone = compose({ participants: people(1), layout: 'grid', focus: null }, canvas, new Set([0]));
    expect(alone.filterGraph).toContain('anullsrc=r=48000:cl=stereo[aout]');
  });
});
