import { TEST_COLORS, type TestColor } from '@mesh/streams';
import { spawn } from 'node:child_process';
import { eventually } from './eventually';
import { findPids } from './processes';

/** Runs ffmpeg with `input` on stdin; resolves with stdout and stderr. */
export function runFfmpeg(
  args: string[],
  input?: Buffer,
): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-nostdin', ...args], {
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: err, code }));
    if (input && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

/** The segment names a live HLS playlist lists, oldest first. */
export function playlistSegments(playlist: string): string[] {
  return playlist
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/**
 * Waits until the stream's playlist (its signed playback URL, fetched as a player
 * would) lists a segment whose name starts with `prefix`, and returns that
 * segment's bytes, from the segment URI resolved against the playlist's URL.
 */
export async function fetchSegment(
  playlistUrl: string,
  prefix: string,
  { timeoutMs = 30_000, skip = 0 } = {},
): Promise<{ name: string; bytes: Buffer }> {
  return eventually(
    async () => {
      const res = await fetch(playlistUrl);
      if (res.status !== 200) throw new Error(`playlist answered ${res.status}`);
      const names = playlistSegments(await res.text()).filter((name) => name.startsWith(prefix));
      const name = names[skip];
      if (!name) throw new Error(`no segment ${prefix}… (#${skip}) listed yet`);
      const segment = await fetch(new URL(name, playlistUrl));
      if (segment.status !== 200) throw new Error(`segment ${name} answered ${segment.status}`);
      return { name, bytes: Buffer.from(await segment.arrayBuffer()) };
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** The segments the playlist lists now, oldest first (none while it answers otherwise). */
export async function listedSegments(playlistUrl: string): Promise<string[]> {
  const res = await fetch(playlistUrl);
  return res.status === 200 ? playlistSegments(await res.text()) : [];
}

/**
 * The `nth` segment (1: the first) listed after all of `seen`, once there is one, with
 * the playlist as it was then: what a player gets after a change it saw being made.
 */
export async function fetchSegmentAfter(
  playlistUrl: string,
  seen: readonly string[],
  { nth = 2, timeoutMs = 30_000 } = {},
): Promise<{ name: string; bytes: Buffer; playlist: string }> {
  return eventually(
    async () => {
      const res = await fetch(playlistUrl);
      if (res.status !== 200) throw new Error(`playlist answered ${res.status}`);
      const playlist = await res.text();
      const fresh = playlistSegments(playlist).filter((name) => !seen.includes(name));
      const name = fresh[nth - 1];
      if (!name) throw new Error(`${fresh.length} new segments listed yet, waiting for ${nth}`);
      const segment = await fetch(new URL(name, playlistUrl));
      if (segment.status !== 200) throw new Error(`segment ${name} answered ${segment.status}`);
      return { name, bytes: Buffer.from(await segment.arrayBuffer()), playlist };
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** A playlist's segments with their lengths (s) and, where given, their start (`#EXT-X-PROGRAM-DATE-TIME`, ms; else NaN). */
export function playlistEntries(playlist: string): { name: string; startMs: number; duration: number }[] {
  const entries: { name: string; startMs: number; duration: number }[] = [];
  let startMs = NaN;
  let duration = NaN;
  for (const line of playlist.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) startMs = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line !== '' && !line.startsWith('#')) {
      entries.push({ name: line, startMs, duration });
      [startMs, duration] = [NaN, NaN];
    }
  }
  return entries;
}

/**
 * How much time the playlist's timeline skips (positive) or repeats (negative) just before
 * segment `name`, in seconds: the start of `name` less the end of the segment listed before
 * it, by their `#EXT-X-PROGRAM-DATE-TIME` and lengths. What a viewer misses at a change.
 */
export function timelineJumpBefore(playlist: string, name: string): number {
  const segments = playlistEntries(playlist);
  const at = segments.findIndex((segment) => segment.name === name);
  const [before, after] = [segments[at - 1], segments[at]];
  if (!before || !after) throw new Error(`${name} is not listed after another segment`);
  const jump = (after.startMs - (before.startMs + before.duration * 1000)) / 1000;
  if (Number.isNaN(jump)) throw new Error(`no time or length given around ${name}`);
  return jump;
}

/**
 * The `#EXT-X-DISCONTINUITY` tags a playlist has after the last of `seen` it still lists:
 * a player re-buffers at each. Throws when it lists none of them any more (nothing to tell).
 */
export function discontinuitiesAfter(playlist: string, seen: readonly string[]): number {
  const lines = playlist.split('\n').map((line) => line.trim());
  const last = lines.reduce((at, line, i) => (seen.includes(line) ? i : at), -1);
  if (last === -1) throw new Error('the playlist lists none of the segments seen before');
  return lines.slice(last + 1).filter((line) => line === '#EXT-X-DISCONTINUITY').length;
}

/** A small RGB picture of one frame of a media segment. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly rgb: Buffer;
}

export async function decodeFrame(segment: Buffer, width = 64, height = 36): Promise<Frame> {
  const [first] = await decodeFrames(segment, { width, height, frames: 1 });
  return first!;
}

/** Every frame of a media segment (or its first `frames`), in order, as small RGB pictures. */
export async function decodeFrames(
  segment: Buffer,
  { width = 64, height = 36, frames = Infinity } = {},
): Promise<Frame[]> {
  const { stdout, stderr } = await runFfmpeg(
    [
      '-v',
      'error',
      '-i',
      'pipe:0',
      ...(Number.isFinite(frames) ? ['-frames:v', String(frames)] : []),
      '-vf',
      `scale=${width}:${height}:flags=neighbor`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
    segment,
  );
  const size = width * height * 3;
  if (stdout.length === 0 || stdout.length % size !== 0) throw new Error(`no frame decoded: ${stderr}`);
  return Array.from({ length: stdout.length / size }, (_, i) => ({
    width,
    height,
    rgb: stdout.subarray(i * size, (i + 1) * size),
  }));
}

/** The decode times (s) of a media file's video packets, in order, as ffmpeg demuxes them. */
export async function videoDecodeTimes(media: Buffer): Promise<number[]> {
  const { stdout, stderr } = await runFfmpeg(
    ['-v', 'error', '-i', 'pipe:0', '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', 'pipe:1'],
    media,
  );
  const text = stdout.toString('utf8');
  const base = /^#tb 0: (\d+)\/(\d+)$/m.exec(text);
  if (!base) throw new Error(`no video packets read: ${stderr}`);
  const unit = Number(base[1]) / Number(base[2]);
  return text
    .split('\n')
    .filter((line) => /^0,/.test(line))
    .map((line) => Number(line.split(',')[1]) * unit);
}

/** The picture size of a media segment's video, as ffmpeg reads it. */
export async function videoSize(segment: Buffer): Promise<{ width: number; height: number }> {
  const { stderr } = await runFfmpeg(['-v', 'info', '-i', 'pipe:0', '-f', 'null', '-'], segment);
  const size = /Stream #\d+:\d+.*?: Video: .*?, (\d+)x(\d+)/.exec(stderr);
  if (!size) throw new Error(`no video stream found: ${stderr.slice(-500)}`);
  return { width: Number(size[1]), height: Number(size[2]) };
}

/** The test colour nearest to the pixel at (fx, fy), given as fractions of the frame; `black` for the canvas. */
export function colourAt(frame: Frame, fx: number, fy: number): TestColor | 'black' {
  const x = Math.min(frame.width - 1, Math.floor(fx * frame.width));
  const y = Math.min(frame.height - 1, Math.floor(fy * frame.height));
  const at = (y * frame.width + x) * 3;
  const pixel = [frame.rgb[at] ?? 0, frame.rgb[at + 1] ?? 0, frame.rgb[at + 2] ?? 0];
  const candidates: [TestColor | 'black', readonly number[]][] = [
    ['black', [0, 0, 0]],
    ...Object.entries(TEST_COLORS).map(([name, c]) => [name as TestColor, c.rgb] as [TestColor, readonly number[]]),
  ];
  let best: TestColor | 'black' = 'black';
  let bestDistance = Infinity;
  for (const [name, rgb] of candidates) {
    const distance = rgb.reduce((sum, v, i) => sum + (v - (pixel[i] ?? 0)) ** 2, 0);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/**
 * How loud the tone at `hz` is in a segment's audio, in dBFS (mean volume after
 * a narrow band-pass around it, applied three times for a steep skirt); about
 * -91 when absent.
 */
export async function toneLevelDb(segment: Buffer, hz: number): Promise<number> {
  const band = `bandpass=f=${hz}:width_type=q:width=20`;
  const { stderr } = await runFfmpeg(
    ['-v', 'info', '-i', 'pipe:0', '-vn', '-af', `${band},${band},${band},volumedetect`, '-f', 'null', '-'],
    segment,
  );
  const mean = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr)?.[1];
  if (mean === undefined) throw new Error(`no volume measured: ${stderr.slice(-500)}`);
  return mean === '-inf' ? -Infinity : Number(mean);
}

/** ffmpeg processes mixing a stream (their command line names its HLS directory), by pid. */
export function mixProcesses(streamId: string): number[] {
  return findPids((argv) => argv.some((arg) => arg.endsWith('ffmpeg')) && argv.some((arg) => arg.includes(streamId)));
}
