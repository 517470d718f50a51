import type { Participant, StreamLayout } from '@mesh/contracts';

/** The mixed picture's size and rate. */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Where one participant's picture goes; `input` is its position among the ffmpeg inputs. */
export interface Tile {
  readonly input: number;
  readonly userId: string;
  readonly rect: Rect;
}

export interface CompositionRequest {
  readonly participants: readonly Pick<Participant, 'userId' | 'volume' | 'muted'>[];
  readonly layout: StreamLayout;
  readonly focus: string | null;
}

/** An ffmpeg `-filter_complex` graph whose outputs are `[vout]` and `[aout]`, and what it shows. */
export interface Composition {
  readonly tiles: readonly Tile[];
  /** Inputs whose sound is mixed in (unmuted), by ffmpeg input index. */
  readonly audible: readonly number[];
  readonly filterGraph: string;
}

export const VIDEO_OUT = '[vout]';
export const AUDIO_OUT = '[aout]';
export const AUDIO_RATE = 48_000;

/** Positions and sizes in 4:2:0 video are even; a size is at least 2. */
const even = (n: number) => Math.floor(n / 2) * 2;
const size = (n: number) => Math.max(2, even(n));

/** The participant shown large: the requested focus when it is a participant, else the first one. */
export function focusOf(request: CompositionRequest): string | null {
  const ids = request.participants.map((p) => p.userId);
  return request.focus !== null && ids.includes(request.focus) ? request.focus : (ids[0] ?? null);
}

/**
 * Where each participant is drawn. grid: rows × columns for 1..9, the last row
 * centred; speaker: the focus large above a strip of the others; pip: the focus
 * full frame with the next participant inset bottom right (the rest are heard, not seen).
 */
export function layoutTiles(request: CompositionRequest, canvas: Canvas): Tile[] {
  const ids = request.participants.map((p) => p.userId);
  const focus = focusOf(request);
  const tile = (userId: string, rect: Rect): Tile => ({ input: ids.indexOf(userId), userId, rect });
  if (ids.length === 0 || focus === null) return [];
  const { width: W, height: H } = canvas;
  switch (request.layout) {
    case 'grid': {
      const cols = Math.ceil(Math.sqrt(ids.length));
      const rows = Math.ceil(ids.length / cols);
      const w = size(W / cols);
      const h = size(H / rows);
      return ids.map((id, i) => {
        const row = Math.floor(i / cols);
        const inRow = Math.min(cols, ids.length - row * cols);
        const left = even((W - inRow * w) / 2);
        return tile(id, { x: left + (i % cols) * w, y: row * h, w, h });
      });
    }
    case 'speaker': {
      const others = ids.filter((id) => id !== focus);
      if (others.length === 0) return [tile(focus, { x: 0, y: 0, w: W, h: H })];
      const stripH = size(H / 4);
      const slots = Math.max(4, others.length);
      const w = size(W / slots);
      const left = even((W - others.length * w) / 2);
      return [
        tile(focus, { x: 0, y: 0, w: W, h: H - stripH }),
        ...others.map((id, i) => tile(id, { x: left + i * w, y: H - stripH, w, h: stripH })),
      ];
    }
    case 'pip': {
      const inset = ids.find((id) => id !== focus);
      const full = tile(focus, { x: 0, y: 0, w: W, h: H });
      if (inset === undefined) return [full];
      const margin = even(Math.min(W, H) / 40);
      const w = size(W / 4);
      const h = size(H / 4);
      return [full, tile(inset, { x: W - w - margin, y: H - h - margin, w, h })];
    }
  }
}

/**
 * Where the pictures are, in two layers drawn back then front, so that a running mix
 * can move anyone anywhere with runtime commands and still draw pip's inset over its
 * full-frame focus, whatever their order. The back layer is one slot, showing the input
 * it selects (pip's focus), or nothing; the front layer has a place per participant.
 */
export interface Placements {
  readonly back: { readonly input: number; readonly rect: Rect | null };
  /** Per participant, in participant order; null: not shown (kept small, off the canvas). */
  readonly front: readonly (Rect | null)[];
}

export function placements(request: CompositionRequest, canvas: Canvas): Placements {
  const tiles = layoutTiles(request, canvas);
  const backTile = request.layout === 'pip' ? tiles[0] : undefined;
  return {
    back: backTile ? { input: backTile.input, rect: backTile.rect } : { input: 0, rect: null },
    front: request.participants.map((_, i) => {
      const tile = tiles.find((t) => t.input === i && t !== backTile);
      return tile ? tile.rect : null;
    }),
  };
}

/** The size a hidden picture is scaled to: small, and still a valid frame whatever its aspect ratio. */
const HIDDEN = { w: 16, h: 16 };

/** The filters runtime commands address: the back slot's, and each participant's in the front layer. */
const BACK_SELECT = 'streamselect@back';
const scaleName = (slot: string) => `scale@${slot}`;
const overlayName = (slot: string) => `overlay@${slot}`;
const volumeName = (i: number) => `volume@a${i}`;
const front = (i: number) => `front${i}`;

/** A placement's scale size and overlay position; a hidden one is drawn just right of the canvas. */
function drawn(rect: Rect | null, canvas: Canvas): { w: number; h: number; x: string; y: string } {
  if (rect === null) return { ...HIDDEN, x: String(canvas.width), y: '0' };
  return {
    w: rect.w,
    h: rect.h,
    // Centred in its tile, evaluated each frame (its size changes when the scale is told to).
    x: `${rect.x}+(${rect.w}-overlay_w)/2`,
    y: `${rect.y}+(${rect.h}-overlay_h)/2`,
  };
}

const gain = (p: Pick<Participant, 'volume' | 'muted'> | undefined) => (p?.muted ? 0 : (p?.volume ?? 1)).toFixed(2);

/** An ffmpeg filter option value escaped for a filter graph string (`:` twice: option, then graph level). */
const graphValue = (value: string) => value.replace(/[\\:]/g, (c) => `\\\\\\${c}`);

export interface ComposeOptions {
  /** Inputs with no audio stream (a screen share): their sound is not named. */
  readonly withoutAudio?: ReadonlySet<number>;
  /** Where the mix listens for runtime commands (a ZeroMQ address, `tcp://127.0.0.1:<port>`); none: it takes none. */
  readonly control?: string;
}

/**
 * The composition as an ffmpeg filter graph over inputs `0..n-1` in participant
 * order (each with one video stream, and one audio stream unless it is in
 * `withoutAudio`). Pictures are scaled into their tiles keeping their aspect ratio,
 * centred, over a black canvas; sound is every input at its volume (a muted one at
 * 0), mixed without normalisation (so adding a co-host does not turn the others down).
 * Every scale, overlay, volume and the back slot's selection is named, so that
 * `liveCommands` can move the mix to another layout, focus, volume or mute while it runs. Deterministic: same
 * request, same graph.
 */
export function compose(request: CompositionRequest, canvas: Canvas, options: ComposeOptions = {}): Composition {
  const withoutAudio = options.withoutAudio ?? new Set<number>();
  const tiles = layoutTiles(request, canvas);
  const places = placements(request, canvas);
  const audible = request.participants.flatMap((p, i) => (p.muted || p.volume === 0 || withoutAudio.has(i) ? [] : [i]));
  const n = request.participants.length;
  const chains: string[] = [`color=c=black:s=${canvas.width}x${canvas.height}:r=${canvas.fps}[base]`];
  const scale = (from: string, slot: string, rect: Rect | null, to: string) => {
    const { w, h } = drawn(rect, canvas);
    return `${from}${scaleName(slot)}=w=${w}:h=${h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1${to}`;
  };
  const overlay = (below: string, picture: string, slot: string, rect: Rect | null, to: string) => {
    const { x, y } = drawn(rect, canvas);
    return `${below}${picture}${overlayName(slot)}=x=${x}:y=${y}:eval=frame${to}`;
  };

  let below = '[base]';
  if (n > 0) {
    // The back slot: the one input it selects (streamselect takes two or more), scaled and drawn first.
    for (let i = 0; i < n; i++) chains.push(`[${i}:v]split=2[in${i}front][in${i}back]`);
    const inputs = Array.from({ length: n }, (_, i) => `[in${i}back]`).join('');
    const selected = n > 1 ? '[selected]' : '[in0back]';
    if (n > 1) chains.push(`${inputs}${BACK_SELECT}=inputs=${n}:map=${places.back.input}${selected}`);
    chains.push(scale(selected, 'back', places.back.rect, '[vback]'));
    chains.push(overlay(below, '[vback]', 'back', places.back.rect, '[cback]'));
    below = '[cback]';
  }
  places.front.forEach((rect, i) => chains.push(scale(`[in${i}front]`, front(i), rect, `[v${i}]`)));
  places.front.forEach((rect, i) => {
    chains.push(overlay(below, `[v${i}]`, front(i), rect, `[c${i}]`));
    below = `[c${i}]`;
  });
  const control = options.control ? `,zmq=bind_address=${graphValue(options.control)}` : '';
  chains.push(`${below}format=yuv420p${control}${VIDEO_OUT}`);

  const heard = request.participants.flatMap((_, i) => (withoutAudio.has(i) ? [] : [i]));
  const prepare = (i: number) =>
    `[${i}:a]aresample=${AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,${volumeName(i)}=volume=${gain(request.participants[i])}`;
  if (heard.length === 0) {
    chains.push(`anullsrc=r=${AUDIO_RATE}:cl=stereo${AUDIO_OUT}`);
  } else if (heard.length === 1) {
    chains.push(`${prepare(heard[0] as number)}${AUDIO_OUT}`);
  } else {
    heard.forEach((i) => chains.push(`${prepare(i)}[a${i}]`));
    const mixIn = heard.map((i) => `[a${i}]`).join('');
    chains.push(`${mixIn}amix=inputs=${heard.length}:duration=longest:dropout_transition=0:normalize=0${AUDIO_OUT}`);
  }
  return { tiles, audible, filterGraph: chains.join(';') };
}

/**
 * The runtime commands (`<filter> <command> <argument>`, as ffmpeg's zmq filter takes
 * them) that move a mix composed for `from` to `to`: only what changed. Null when
 * `to` cannot be reached that way: the participants are not the same ones in the same
 * order (a new input needs a new graph).
 */
export function liveCommands(
  from: CompositionRequest,
  to: CompositionRequest,
  canvas: Canvas,
  withoutAudio: ReadonlySet<number> = new Set(),
): string[] | null {
  const ids = (r: CompositionRequest) => r.participants.map((p) => p.userId).join('\n');
  if (ids(from) !== ids(to)) return null;
  const before = placements(from, canvas);
  const after = placements(to, canvas);
  const commands: string[] = [];
  const move = (slot: string, was: Rect | null, now: Rect | null) => {
    const [a, b] = [drawn(was, canvas), drawn(now, canvas)];
    if (a.w !== b.w || a.h !== b.h) commands.push(`${scaleName(slot)} w ${b.w}`, `${scaleName(slot)} h ${b.h}`);
    if (a.x !== b.x || a.y !== b.y) commands.push(`${overlayName(slot)} x ${b.x}`, `${overlayName(slot)} y ${b.y}`);
  };
  if (after.back.input !== before.back.input && to.participants.length > 1) {
    commands.push(`${BACK_SELECT} map ${after.back.input}`);
  }
  move('back', before.back.rect, after.back.rect);
  after.front.forEach((rect, i) => {
    move(front(i), before.front[i] ?? null, rect);
    const volume = gain(to.participants[i]);
    if (!withoutAudio.has(i) && volume !== gain(from.participants[i]))
      commands.push(`${volumeName(i)} volume ${volume}`);
  });
  return commands;
}
