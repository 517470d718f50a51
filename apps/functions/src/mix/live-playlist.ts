/** A segment of a media playlist: its file, its length, and when its first frame was made where the playlist says. */
export interface Segment {
  readonly name: string;
  readonly duration: number;
  /** Wall-clock time of its first frame (`#EXT-X-PROGRAM-DATE-TIME`), in ms; null when not given. */
  readonly startMs: number | null;
}

interface Listed extends Segment {
  /** Preceded by `#EXT-X-DISCONTINUITY`: a player resets its decoder here (another ffmpeg run). */
  readonly discontinuity: boolean;
}

const ENDLIST = '#EXT-X-ENDLIST';

/** The segments a media playlist lists, in order, with the tags that came before each. */
function listed(text: string): Listed[] {
  const segments: Listed[] = [];
  let duration = 0;
  let startMs: number | null = null;
  let discontinuity = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      const at = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
      startMs = Number.isNaN(at) ? null : at;
    } else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line !== '' && !line.startsWith('#')) {
      segments.push({ name: line, duration: Number.isFinite(duration) ? duration : 0, startMs, discontinuity });
      [duration, startMs, discontinuity] = [0, null, false];
    }
  }
  return segments;
}

/** The segments of one ffmpeg run's own playlist. */
export function runSegments(text: string): Segment[] {
  return listed(text).map(({ name, duration, startMs }) => ({ name, duration, startMs }));
}

/** A `#EXT-X-…:<n>` header's number, 0 when absent. */
const header = (text: string, tag: string) => Number(new RegExp(`^${tag}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/**
 * A stream's public live playlist (RFC 8216 media playlist): a sliding window of the
 * latest segments of one ffmpeg run after another. Each run's first segment is marked
 * as a discontinuity when anything came before it; the media and discontinuity
 * sequence numbers go on across runs and replicas, so a player polling it carries on
 * whoever mixes the room. A pure value: reading and writing the file is the caller's.
 */
export class PublicPlaylist {
  private constructor(
    private readonly listSize: number,
    private readonly targetS: number,
    private mediaSequence: number,
    private discontinuitySequence: number,
    private readonly window: Listed[],
    private endedMark: boolean,
  ) {}

  static empty(listSize: number, segmentS: number): PublicPlaylist {
    return new PublicPlaylist(listSize, Math.ceil(segmentS), 0, 0, [], false);
  }

  /** The playlist as written before (by this replica, another, or an earlier version's ffmpeg), to go on from. */
  static parse(text: string, listSize: number, segmentS: number): PublicPlaylist {
    const playlist = new PublicPlaylist(
      listSize,
      Math.ceil(segmentS),
      header(text, '#EXT-X-MEDIA-SEQUENCE'),
      header(text, '#EXT-X-DISCONTINUITY-SEQUENCE'),
      listed(text),
      text.split('\n').some((line) => line.trim() === ENDLIST),
    );
    playlist.trim();
    return playlist;
  }

  /** Whether any segment was ever listed (a new run after it is a discontinuity). */
  get started(): boolean {
    return this.mediaSequence + this.window.length > 0;
  }

  get ended(): boolean {
    return this.endedMark;
  }

  /** The segments listed now, oldest first. */
  get names(): string[] {
    return this.window.map((s) => s.name);
  }

  /** Wall-clock end of the last segment listed (ms), when its start is known. */
  get endMs(): number | null {
    const last = this.window.at(-1);
    return last?.startMs == null ? null : last.startMs + last.duration * 1000;
  }

  /** Lists `segment` last (the playlist is live again if it had ended); returns the names that left the window. */
  append(segment: Segment, discontinuity: boolean): string[] {
    this.endedMark = false;
    this.window.push({ ...segment, discontinuity });
    return this.trim();
  }

  /** Players stop at the last segment: the stream stopped or failed. */
  end(): void {
    this.endedMark = true;
  }

  render(): string {
    const longest = Math.max(this.targetS, ...this.window.map((s) => Math.ceil(s.duration)));
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      `#EXT-X-TARGETDURATION:${longest}`,
      `#EXT-X-MEDIA-SEQUENCE:${this.mediaSequence}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${this.discontinuitySequence}`,
      '#EXT-X-INDEPENDENT-SEGMENTS',
    ];
    for (const s of this.window) {
      if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
      if (s.startMs !== null) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startMs).toISOString()}`);
      lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.name);
    }
    if (this.endedMark) lines.push(ENDLIST);
    return `${lines.join('\n')}\n`;
  }

  private trim(): string[] {
    const dropped = this.window.splice(0, Math.max(0, this.window.length - this.listSize));
    this.mediaSequence += dropped.length;
    // A discontinuity tag that leaves the playlist is counted, so players keep their timelines apart.
    this.discontinuitySequence += dropped.filter((s) => s.discontinuity).length;
    return dropped.map((s) => s.name);
  }
}
