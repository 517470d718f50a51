import {
  compose,
  focusOf,
  layoutTiles,
  liveCommands,
  placements,
  type CompositionRequest,
  type Rect,
} from './composition';

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

  it('builds the same graph for the same request: a back slot, each picture in front, every filter named', () => {
    const graph = compose(request(2, 'grid'), canvas).filterGraph;
    expect(compose(request(2, 'grid'), canvas).filterGraph).toBe(graph);
    const scaled = 'force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1';
    expect(graph.split(';')).toEqual([
      'color=c=black:s=1280x720:r=30[base]',
      '[0:v]split=2[in0front][in0back]',
      '[1:v]split=2[in1front][in1back]',
      // The back slot shows nothing in a grid: small, just right of the canvas.
      '[in0back][in1back]streamselect@back=inputs=2:map=0[selected]',
      `[selected]scale@back=w=16:h=16:${scaled}[vback]`,
      '[base][vback]overlay@back=x=1280:y=0:eval=frame[cback]',
      `[in0front]scale@front0=w=640:h=720:${scaled}[v0]`,
      `[in1front]scale@front1=w=640:h=720:${scaled}[v1]`,
      '[cback][v0]overlay@front0=x=0+(640-overlay_w)/2:y=0+(720-overlay_h)/2:eval=frame[c0]',
      '[c0][v1]overlay@front1=x=640+(640-overlay_w)/2:y=0+(720-overlay_h)/2:eval=frame[c1]',
      '[c1]format=yuv420p[vout]',
      '[0:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume@a0=volume=1.00[a0]',
      '[1:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume@a1=volume=1.00[a1]',
      '[a0][a1]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0[aout]',
    ]);
    // One participant: nothing to select among.
    expect(compose(request(1, 'pip'), canvas).filterGraph).toContain('[in0back]scale@back=w=1280:h=720');
  });

  it('listens for runtime commands where it is told, the address escaped for the graph', () => {
    const graph = compose(request(1, 'grid'), canvas, { control: 'tcp://127.0.0.1:5601' }).filterGraph;
    expect(graph).toContain('format=yuv420p,zmq=bind_address=tcp\\\\\\://127.0.0.1\\\\\\:5601[vout]');
    expect(compose(request(1, 'grid'), canvas).filterGraph).not.toContain('zmq');
  });

  it('mixes every input at its volume, a muted one at 0 (so a mute can be lifted live), and says who is heard', () => {
    const some = compose(
      {
        participants: [...people(3, [1]).slice(0, 2), { userId: 'u2', volume: 0.5, muted: false }],
        layout: 'grid',
        focus: null,
      },
      canvas,
    );
    expect(some.audible).toEqual([0, 2]);
    expect(some.filterGraph).toContain(
      '[1:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume@a1=volume=0.00[a1]',
    );
    expect(some.filterGraph).toContain(
      '[2:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume@a2=volume=0.50[a2]',
    );
    expect(some.filterGraph).toContain('[a0][a1][a2]amix=inputs=3');

    const one = compose({ participants: people(1, [0]), layout: 'grid', focus: null }, canvas);
    expect(one.audible).toEqual([]);
    expect(one.filterGraph).toContain(
      '[0:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume@a0=volume=0.00[aout]',
    );
  });

  it('never names the audio of an input that has none, and still shows its picture', () => {
    const mixed = compose({ participants: people(3), layout: 'grid', focus: null }, canvas, {
      withoutAudio: new Set([1]),
    });
    expect(mixed.audible).toEqual([0, 2]);
    expect(mixed.filterGraph).not.toContain('[1:a]');
    expect(mixed.filterGraph).toContain('[1:v]');
    expect(mixed.filterGraph).toContain('[a0][a2]amix=inputs=2');
    const alone = compose({ participants: people(1), layout: 'grid', focus: null }, canvas, {
      withoutAudio: new Set([0]),
    });
    expect(alone.filterGraph).toContain('anullsrc=r=48000:cl=stereo[aout]');
  });

  it("puts pip's full-frame focus in the back slot, so its inset is drawn over it whatever their order", () => {
    const places = placements(request(3, 'pip', 'u2'), canvas);
    expect(places.back).toEqual({ input: 2, rect: { x: 0, y: 0, w: 1280, h: 720 } });
    expect(places.front[0]).toMatchObject({ w: 320, h: 180 });
    expect(places.front.slice(1)).toEqual([null, null]);
    expect(placements(request(3, 'speaker', 'u2'), canvas).back.rect).toBeNull();
  });
});

describe('runtime commands between compositions', () => {
  it('moves a grid to speaker with the focus large: sizes and positions of what moved, nothing else', () => {
    const commands = liveCommands(request(4, 'grid'), request(4, 'speaker', 'u2'), canvas)!;
    // The focus: from the third quadrant to the large region.
    expect(commands).toEqual(
      expect.arrayContaining([
        'scale@front2 w 1280',
        'scale@front2 h 540',
        'overlay@front2 x 0+(1280-overlay_w)/2',
        'overlay@front2 y 0+(540-overlay_h)/2',
      ]),
    );
    // The back slot is not used by either layout, and nobody's sound changed.
    expect(commands.filter((c) => c.includes('back') || c.startsWith('volume'))).toEqual([]);
    expect(liveCommands(request(4, 'grid'), request(4, 'grid'), canvas)).toEqual([]);
  });

  it('mutes, unmutes and turns down with one volume command each, and leaves inputs without audio alone', () => {
    const before = request(3, 'grid');
    const after = {
      ...before,
      participants: [people(3, [0])[0]!, { userId: 'u1', volume: 1.5, muted: false }, people(3)[2]!],
    };
    expect(liveCommands(before, after, canvas)).toEqual(['volume@a0 volume 0.00', 'volume@a1 volume 1.50']);
    expect(liveCommands(before, after, canvas, new Set([0]))).toEqual(['volume@a1 volume 1.50']);
    expect(liveCommands(after, before, canvas)).toEqual(['volume@a0 volume 1.00', 'volume@a1 volume 1.00']);
  });

  it('moves pip focus by selecting another input for the back slot, and the old focus to the inset', () => {
    const commands = liveCommands(request(2, 'pip', 'u0'), request(2, 'pip', 'u1'), canvas)!;
    expect(commands).toContain('streamselect@back map 1');
    expect(commands).toEqual(expect.arrayContaining(['scale@front0 w 320', 'scale@front1 w 16']));
    // The back slot stays full frame: only what it shows changed.
    expect(commands.filter((c) => c.startsWith('scale@back') || c.startsWith('overlay@back'))).toEqual([]);
    const toGrid = liveCommands(request(2, 'pip', 'u1'), request(2, 'grid'), canvas)!;
    expect(toGrid).toEqual(
      expect.arrayContaining(['scale@back w 16', 'overlay@back x 1280', 'streamselect@back map 0']),
    );
  });

  it('cannot reach a composition with other participants: that needs a new graph', () => {
    expect(liveCommands(request(2, 'grid'), request(3, 'grid'), canvas)).toBeNull();
    const swapped = { ...request(2, 'grid'), participants: [...people(2)].reverse() };
    expect(liveCommands(request(2, 'grid'), swapped, canvas)).toBeNull();
  });
});
