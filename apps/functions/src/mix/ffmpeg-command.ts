import { AUDIO_OUT, AUDIO_RATE, TEST_COLORS, TEST_PATTERN_TONE_HZ, VIDEO_OUT } from '@mesh/streams';
import type { Canvas, Composition, MediaSource, NetworkScheme } from '@mesh/streams';
import type { PinnedUrl } from './pinned-source';

/** How the mix encodes and where it writes. */
export interface MixOutput {
  readonly canvas: Canvas;
  /** The stream's HLS directory: its public playlist is `index.m3u8` in it (see LivePublisher). */
  readonly dir: string;
  /**
   * Names this run's files: its segments `<prefix>-<n>.ts` and its own playlist `<prefix>.m3u8`,
   * which the public playlist is made from.
   */
  readonly segmentPrefix: string;
  readonly segmentS: number;
  readonly x264Preset: string;
  /**
   * Where the run writes its MPEG-TS for the room's RTMP push (a PushRelay's feed, `unix:…`), or
   * none. The push itself is the relay's pusher (see pushArgs), so it outlives the run.
   */
  readonly push: string | null;
  readonly inputTimeoutS: number;
  /** The CA bundle https and rtmps peers are verified against (the inputs'). */
  readonly caFile: string;
  /**
   * An adaptive ladder: one H.264 encoding per rendition (the first at the canvas), each its own
   * playlist `<prefix>-<name>.m3u8` and segments `<prefix>-<name>-<n>.ts`, cut on the same
   * keyframes; the RTMP push takes the first. Null: one encoding at the canvas, as `<prefix>.m3u8`.
   */
  readonly renditions: readonly Rendition[] | null;
}

/** One rung of an adaptive ladder. */
export interface Rendition {
  /** Names its playlists and segments (`720p`). */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Its video bitrate cap (its playlist's BANDWIDTH adds the audio's). */
  readonly videoKbps: number;
}

/** The audio bitrate of every output. */
export const AUDIO_KBPS = 128;

/** Heights a ladder steps down to, below the canvas. */
const LADDER_HEIGHTS = [720, 360];

/** The video bitrate a rendition is capped at, by its height (H.264, live, 30 fps). */
function videoKbpsFor(height: number): number {
  if (height >= 1080) return 5_000;
  if (height >= 720) return 2_800;
  if (height >= 480) return 1_400;
  return 800;
}

/**
 * The ladder of a canvas: the canvas itself, then 720p and 360p where they are below it, or half
 * the canvas when neither is (widths keep its shape).
 */
export function ladderOf(canvas: Canvas): Rendition[] {
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  const below = LADDER_HEIGHTS.filter((h) => h < canvas.height);
  const heights = [canvas.height, ...(below.length > 0 ? below : [even(canvas.height / 2)])];
  return heights.map((height) => ({
    name: `${height}p`,
    width: even((canvas.width * height) / canvas.height),
    height,
    videoKbps: videoKbpsFor(height),
  }));
}

/** The public playlist of a stream, the one players are given. */
export const PLAYLIST = 'index.m3u8';
/** Segments the public playlist lists. */
export const HLS_LIST_SIZE = 6;
/** Segments a run's own playlist lists (its files are deleted by the publisher, not ffmpeg). */
const RUN_LIST_SIZE = 10;
const HLS_FLAGS = 'program_date_time+independent_segments+temp_file';

/**
 * The protocols ffmpeg may use for each kind of input, nested ones included (an
 * HLS input's playlist must not lead ffmpeg to `file:` or anything else). Which
 * hosts HTTP(S) may reach is the egress proxy's to hold (`httpproxy`: TLS through it).
 */
const PROTOCOLS: Readonly<Record<NetworkScheme, string>> = {
  rtmp: 'rtmp,tcp',
  rtmps: 'rtmps,tcp,tls,httpproxy',
  srt: 'srt,udp',
  http: 'http,tcp,crypto',
  https: 'https,http,tls,tcp,crypto,httpproxy',
};

/**
 * The ffmpeg command line of a mix: one input per participant (a checked network
 * URL, or a generated test source that is paced in real time), the composition's
 * filter graph, H.264 + AAC, written as live HLS and, for a room pushing to RTMP, as
 * MPEG-TS to its push relay too, through the tee muxer (a failing feed does not stop the HLS).
 * Arguments are an array for `spawn`, never a shell string.
 */
export function ffmpegArgs(sources: readonly MediaSource[], composition: Composition, out: MixOutput): string[] {
  const { canvas } = out;
  const gop = Math.max(1, Math.round(canvas.fps * out.segmentS));
  const ladder = out.renditions;
  // With a ladder, ffmpeg's `%v` is each rendition's name (var_stream_map below).
  const segmentPath = `${out.dir}/${out.segmentPrefix}${ladder ? '-%v' : ''}-%d.ts`;
  const playlistPath = `${out.dir}/${out.segmentPrefix}${ladder ? '-%v' : ''}.m3u8`;
  // A run's first segment is half as long (one forced keyframe cuts it): a new run is on air, and a
  // co-host who joined is seen, half a segment sooner.
  const firstS = out.segmentS / 2;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-progress', 'pipe:1', '-stats_period', '1'];
  for (const source of sources) args.push(...inputArgs(source, canvas, out));
  args.push('-filter_complex', ladder ? withLadder(composition.filterGraph, ladder) : composition.filterGraph);
  if (ladder) {
    ladder.forEach((_, i) => args.push('-map', `[lv${i}]`, '-map', `[la${i}]`));
    ladder.forEach(({ videoKbps }, i) =>
      args.push(
        `-b:v:${i}`,
        `${videoKbps}k`,
        `-maxrate:v:${i}`,
        `${videoKbps}k`,
        `-bufsize:v:${i}`,
        `${videoKbps * 2}k`,
      ),
    );
  } else {
    args.push('-map', VIDEO_OUT, '-map', AUDIO_OUT);
  }
  args.push(
    '-c:v',
    'libx264',
    '-preset',
    out.x264Preset,
    '-tune',
    'zerolatency',
    '-r',
    String(canvas.fps),
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-force_key_frames',
    `expr:gte(t,${firstS})*eq(n_forced,0)`,
    '-c:a',
    'aac',
    '-b:a',
    `${AUDIO_KBPS}k`,
    '-ar',
    String(AUDIO_RATE),
    '-ac',
    '2',
  );
  const hls: Record<string, string> = {
    hls_time: String(out.segmentS),
    hls_init_time: String(firstS),
    hls_list_size: String(RUN_LIST_SIZE),
    hls_flags: HLS_FLAGS,
    hls_segment_filename: segmentPath,
    ...(ladder ? { var_stream_map: ladder.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(' ') } : {}),
  };
  if (out.push === null) {
    args.push('-f', 'hls', ...Object.entries(hls).flatMap(([k, v]) => [`-${k}`, v]), playlistPath);
  } else {
    const hlsOptions = Object.entries(hls)
      .map(([k, v]) => `${k}=${teeEscape(v)}`)
      .join(':');
    args.push(
      '-flags',
      '+global_header',
      '-f',
      'tee',
      `[f=hls:${hlsOptions}]${playlistPath}|[${feedOptions(out)}]${out.push}`,
    );
  }
  return args;
}

/**
 * A tee slave option's value: its `:`, `,` and `\` escaped twice (`\\\:`), as the tee
 * muxer unescapes the slave's `[…]` once, then again as it splits the options.
 */
const teeEscape = (value: string) => value.replace(/[\\:,]/g, (c) => '\\\\\\' + c);

/** The composition's picture split into the ladder's renditions (`[lv<i>]`), and its sound once for each (`[la<i>]`). */
function withLadder(graph: string, ladder: readonly Rendition[]): string {
  const n = ladder.length;
  const videos = ladder.map((_, i) => `[lsplit${i}]`).join('');
  const audios = ladder.map((_, i) => `[la${i}]`).join('');
  const scaled = ladder.map(({ width, height }, i) =>
    i === 0 ? `[lsplit0]null[lv0]` : `[lsplit${i}]scale=w=${width}:h=${height}[lv${i}]`,
  );
  return [graph, `${VIDEO_OUT}split=${n}${videos}`, ...scaled, `${AUDIO_OUT}asplit=${n}${audios}`].join(';');
}

/** The tee slave options of the push relay's feed (the ladder's first rendition, when there is one). */
function feedOptions(out: MixOutput): string {
  return [...(out.renditions ? [`select=\\'v:0,a:0\\'`] : []), 'f=mpegts', 'onfail=ignore'].join(':');
}

/**
 * The command line of a room's pusher (see PushRelay): the mix's MPEG-TS read from `input`,
 * remuxed (no encoding) to FLV and pushed to the ingest, its address pinned; an ingest that
 * takes nothing for `inputTimeoutS` is given up; rtmps peers verified against `caFile`.
 */
export function pushArgs(input: string, target: PinnedUrl, out: Pick<MixOutput, 'inputTimeoutS' | 'caFile'>): string[] {
  const tls = target.url.startsWith('rtmps:') ? ['-tls_verify', '1', '-ca_file', out.caFile] : [];
  const tcUrl = target.tcUrl ? ['-rtmp_tcurl', target.tcUrl] : [];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-progress',
    'pipe:1',
    '-stats_period',
    '1',
    '-analyzeduration',
    '2000000',
    '-f',
    'mpegts',
    '-i',
    input,
    '-map',
    '0',
    '-c',
    'copy',
    '-rw_timeout',
    String(Math.round(out.inputTimeoutS * 1_000_000)),
    ...tls,
    ...tcUrl,
    '-f',
    'flv',
    target.url,
  ];
}

function inputArgs(source: MediaSource, canvas: Canvas, out: Pick<MixOutput, 'inputTimeoutS' | 'caFile'>): string[] {
  const size = `${canvas.width}x${canvas.height}`;
  const tone = (hz: number) => `sine=frequency=${hz}:sample_rate=${AUDIO_RATE}[out1]`;
  switch (source.kind) {
    case 'test-color':
      return [
        '-re',
        '-f',
        'lavfi',
        '-i',
        `color=c=${source.color}:s=${size}:r=${canvas.fps}[out0];${tone(TEST_COLORS[source.color].toneHz)}`,
      ];
    case 'test-pattern':
      return ['-re', '-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${canvas.fps}[out0];${tone(TEST_PATTERN_TONE_HZ)}`];
    case 'network':
      return ['-thread_queue_size', '512', ...networkInput(source, out)];
  }
}

export type NetworkSource = Extract<MediaSource, { kind: 'network' }>;

/**
 * A network input, held to its protocols, given up after `inputTimeoutS` without
 * data, TLS peers verified (ffmpeg's default is not to), an rtmp input pinned to
 * an address told its tcUrl.
 */
export function networkInput(source: NetworkSource, out: Pick<MixOutput, 'inputTimeoutS' | 'caFile'>): string[] {
  const tls =
    source.scheme === 'https' || source.scheme === 'rtmps' ? ['-tls_verify', '1', '-ca_file', out.caFile] : [];
  const tcUrl = source.tcUrl ? ['-rtmp_tcurl', source.tcUrl] : [];
  return [
    '-protocol_whitelist',
    PROTOCOLS[source.scheme],
    '-rw_timeout',
    String(Math.round(out.inputTimeoutS * 1_000_000)),
    ...tls,
    ...tcUrl,
    '-i',
    source.url,
  ];
}
