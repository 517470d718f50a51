import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAYLIST } from './ffmpeg-command';
import { PublicPlaylist, runSegments, type Segment } from './live-playlist';

export interface PublisherOptions {
  /** Segments the public playlist lists. */
  readonly listSize: number;
  readonly segmentS: number;
  /** A run's first segment is out (listed publicly): it is on air. */
  readonly published: (run: string) => void;
  /** The playlist went on from `from` to the run that was to follow it: `from` may stop now. */
  readonly switched: (from: string) => void;
}

/** A run being published: its segments `<run>-<n>.ts`, listed by ffmpeg in `<run>.m3u8`. */
interface Feed {
  readonly run: string;
  /** The index of the next segment of it to publish (those before were published or passed over). */
  next: number;
  published: boolean;
}

/** What one look published: the segments that left the window for it. */
interface Published {
  dropped: string[];
  /** The run whose first segment it was. */
  firstOf: string | null;
  /** The run it went on from, at a handover. */
  switchedFrom: string | null;
}

/** Segments that left the window are kept this many more before their files go: a slow player may still fetch one. */
const KEEP_DROPPED = 4;

/**
 * The public playlist of one stream (`index.m3u8` in its HLS directory), written by the
 * replica that mixes it from the playlists its ffmpeg runs write for themselves. This
 * is what lets a mix change without a gap: a run that replaces another (a co-host
 * joined or left) is started beside it, and the playlist goes on from the old run to
 * the new one at the new run's segment that starts nearest where the old one was
 * (`#EXT-X-PROGRAM-DATE-TIME`); only then does the old run stop. Players see one
 * discontinuity and never wait. It also deletes the segments that left it.
 */
export class LivePublisher {
  private current: Feed | null = null;
  private pending: Feed | null = null;
  private readonly dropped: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  private constructor(
    private readonly dir: string,
    private playlist: PublicPlaylist,
    private readonly options: PublisherOptions,
  ) {}

  /** The stream's playlist as it stands (written by this replica before, or another), to go on from. */
  static async open(dir: string, options: PublisherOptions): Promise<LivePublisher> {
    const text = await readFile(join(dir, PLAYLIST), 'utf8').catch(() => null);
    const playlist =
      text === null
        ? PublicPlaylist.empty(options.listSize, options.segmentS)
        : PublicPlaylist.parse(text, options.listSize, options.segmentS);
    return new LivePublisher(dir, playlist, options);
  }

  /** Where ffmpeg writes the playlist of `run`. */
  static runPlaylist(run: string): string {
    return `${run}.m3u8`;
  }

  /**
   * Publishes `run` from its first segment on. With `handover`, while another run is
   * published, the other goes on until this one has a segment to go on from (see above).
   */
  follow(run: string, handover: boolean): void {
    const feed = { run, next: 0, published: false };
    if (handover && this.current) this.pending = feed;
    else [this.current, this.pending] = [feed, null];
  }

  /** A run that was to follow and will not (it ended first): the current one goes on. */
  abandon(run: string): void {
    if (this.pending?.run === run) this.pending = null;
  }

  /** Reads the runs' playlists every `intervalMs` and publishes what is new. */
  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.tick().catch(() => undefined), intervalMs);
  }

  /** Stops reading, leaving the playlist as it is (the stream went to another replica, or this one stops). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    [this.current, this.pending] = [null, null];
    await this.ticking;
  }

  /** Publishes the last segments out, then marks the playlist ended: players stop at its last segment. */
  async end(): Promise<void> {
    await this.tick().catch(() => undefined);
    await this.stop();
    if (this.playlist.ended) return;
    this.playlist.end();
    await this.write();
  }

  /** One look at the runs' playlists; what is new is published. One at a time. */
  tick(): Promise<void> {
    this.ticking ??= this.advance().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async advance(): Promise<void> {
    const handedOver = this.pending ? await this.handOver(this.pending) : 'no handover';
    if (handedOver === 'hold') return;
    const published = handedOver === 'no handover' ? await this.carryOn() : handedOver;
    if (!published) return;
    await this.write();
    // Told once players can see it.
    if (published.switchedFrom !== null) this.options.switched(published.switchedFrom);
    if (published.firstOf !== null) this.options.published(published.firstOf);
    this.dropped.push(...published.dropped);
    if (published.dropped.length > 0 || published.switchedFrom !== null) await this.sweep();
  }

  /**
   * The pending run takes over once it has a segment to go on from: one that starts no
   * earlier than half a segment before the old run's last listed segment ends, so the
   * join repeats or skips at most about half a segment. The old run's new segments are
   * listed first as far as such a segment can follow them. While there is none yet, the
   * old run's new segments wait (`hold`): a segment's time at most.
   */
  private async handOver(pending: Feed): Promise<Published | 'hold' | 'no handover'> {
    const segments = await this.read(pending);
    if (segments.length === 0) return 'no handover';
    const previous = this.current;
    const fresh = previous ? await this.read(previous) : [];
    const halfMs = this.options.segmentS * 500;
    for (let k = fresh.length; k >= 0; k--) {
      const last = k === 0 ? null : fresh[k - 1]!;
      const end =
        last === null ? this.playlist.endMs : last.startMs === null ? null : last.startMs + last.duration * 1000;
      const from = segments.findIndex((s) => end === null || s.startMs === null || s.startMs >= end - halfMs);
      if (from === -1) continue;
      const before = previous && k > 0 ? this.publish(previous, fresh.slice(0, k)).dropped : [];
      [this.current, this.pending] = [pending, null];
      const after = this.publish(pending, segments.slice(from));
      return { ...after, dropped: [...before, ...after.dropped], switchedFrom: previous?.run ?? null };
    }
    return 'hold';
  }

  private async carryOn(): Promise<Published | null> {
    const current = this.current;
    if (!current) return null;
    const segments = await this.read(current);
    return segments.length === 0 ? null : this.publish(current, segments);
  }

  private publish(feed: Feed, segments: readonly Segment[]): Published {
    const first = !feed.published;
    const dropped: string[] = [];
    for (const segment of segments) {
      dropped.push(...this.playlist.append(segment, !feed.published && this.playlist.started));
      feed.published = true;
    }
    feed.next = indexOf(segments.at(-1)!.name) + 1;
    return { dropped, firstOf: first ? feed.run : null, switchedFrom: null };
  }

  /** The run's segments not published yet, or none when its playlist is not there yet. */
  private async read(feed: Feed): Promise<Segment[]> {
    const text = await readFile(join(this.dir, LivePublisher.runPlaylist(feed.run)), 'utf8').catch(() => '');
    return runSegments(text).filter((s) => s.name.startsWith(`${feed.run}-`) && indexOf(s.name) >= feed.next);
  }

  /** Writes beside, then renames over: a player never reads half a playlist. */
  private async write(): Promise<void> {
    const path = join(this.dir, PLAYLIST);
    await writeFile(`${path}.next`, this.playlist.render());
    await rename(`${path}.next`, path);
  }

  /**
   * Deletes what no player will ask for: segments out of the window for a while, and
   * the segments and playlists of runs no longer followed (passed over at a handover,
   * or left by a replica that died).
   */
  private async sweep(): Promise<void> {
    this.dropped.splice(0, Math.max(0, this.dropped.length - KEEP_DROPPED));
    const keep = new Set([PLAYLIST, ...this.playlist.names, ...this.dropped]);
    const feeds = [this.current, this.pending].filter((feed): feed is Feed => feed !== null);
    // A followed run's own playlist, and its segments not published yet.
    const coming = (file: string) =>
      feeds.some(
        ({ run, next }) =>
          file === LivePublisher.runPlaylist(run) || (file.startsWith(`${run}-`) && indexOf(file) >= next),
      );
    const files = await readdir(this.dir).catch(() => []);
    const stale = files.filter(
      (file) => (file.endsWith('.ts') || file.endsWith('.m3u8')) && !keep.has(file) && !coming(file),
    );
    await Promise.all(stale.map((file) => rm(join(this.dir, file), { force: true })));
  }
}

/** The n of a segment named `<run>-<n>.ts`. */
function indexOf(name: string): number {
  return Number(/-(\d+)\.ts$/.exec(name)?.[1] ?? -1);
}
