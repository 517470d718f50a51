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
 * The composition as an ffmpeg filter graph over inputs `0..n-1` in participant
 * order (each with one video stream, and one audio stream unless it is in
 * `withoutAudio`). Pictures are scaled into their tiles keeping their aspect ratio,
 * centred, over a black canvas; sound is every unmuted input at its volume, mixed
 * without normalisation (so adding a co-host does not turn the others down).
 * Deterministic: same request, same graph.
 */
export function compose(
  request: CompositionRequest,
  canvas: Canvas,
  withoutAudio: ReadonlySet<number> = new Set(),
): Composition {
  const tiles = layoutTiles(request, canvas);
  const audible = request.participants.flatMap((p, i) => (p.muted || p.volume === 0 || withoutAudio.has(i) ? [] : [i]));
  const chains: string[] = [`color=c=black:s=${canvas.width}x${canvas.height}:r=${canvas.fps}[base]`];

  tiles.forEach((t, i) => {
    chains.push(
      `[${t.input}:v]scale=${t.rect.w}:${t.rect.h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[v${i}]`,
    );
  });
  let below = '[base]';
  tiles.forEach((t, i) => {
    const x = `${t.rect.x}+(${t.rect.w}-overlay_w)/2`;
    const y = `${t.rect.y}+(${t.rect.h}-overlay_h)/2`;
    chains.push(`${below}[v${i}]overlay=x=${x}:y=${y}[c${i}]`);
    below = `[c${i}]`;
  });
  chains.push(`${below}format=yuv420p${VIDEO_OUT}`);

  const volumeOf = (i: number) => (request.participants[i]?.volume ?? 1).toFixed(2);
  const prepare = (i: number) =>
    `[${i}:a]aresample=${AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,volume=${volumeOf(i)}`;
  if (audible.length === 0) {
    chains.push(`anullsrc=r=${AUDIO_RATE}:cl=stereo${AUDIO_OUT}`);
  } else if (audible.length === 1) {
    chains.push(`${prepare(audible[0] as number)}${AUDIO_OUT}`);
  } else {
    audible.forEach((i) => chains.push(`${prepare(i)}[a${i}]`));
    const mixIn = audible.map((i) => `[a${i}]`).join('');
    chains.push(`${mixIn}amix=inputs=${audible.length}:duration=longest:dropout_transition=0:normalize=0${AUDIO_OUT}`);
  }
  return { tiles, audible, filterGraph: chains.join(';') };
}
