import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIO_KBPS, PLAYLIST, type Rendition } from './ffmpeg-command';
import { PublicPlaylist, runSegments, type Segment } from './live-playlist';

export interface PublisherOptions {
  /** Segments a public playlist lists. */
  readonly listSize: number;
  readonly segmentS: number;
  /** The ladder's renditions, each its own public playlist under a master `index.m3u8`; null: one, `index.m3u8`. */
  readonly renditions: readonly Rendition[] | null;
  /** A run's first segment is out (listed publicly): it is on air. */
  readonly published: (run: string) => void;
  /** The playlist went on from `from` to the run that was to follow it: `from` may stop now. */
  readonly switched: (from: string) => void;
}

/**
 * A run being published: its segments `<run>-<n>.ts` listed by ffmpeg in `<run>.m3u8`, or with a
 * ladder `<run>-<rendition>-<n>.ts` in `<run>-<rendition>.m3u8`, the renditions cut alike.
 */
interface Feed {
  readonly run: string;
  /** The index of the next segment of it to publish (those before were published or passed over). */
  next: number;
  published: boolean;
}

/** What one look published: the segments that left the windows for it. */
interface Published {
  dropped: string[];
  /** The run whose first segment it was. */
  firstOf: string | null;
  /** The run it went on from, at a handover. */
  switchedFrom: string | null;
}

/** A run's new segments, the same indexes in every rendition: `byVariant` lists are aligned. */
interface Fresh {
  readonly byVariant: ReadonlyMap<string, readonly Segment[]>;
  readonly count: number;
}

/** Segments that left a window are kept this many more before their files go: a slow player may still fetch one. */
const KEEP_DROPPED = 4;

/**
 * The public playlists of one stream in its HLS directory (`index.m3u8`; with a ladder, one
 * per rendition under a master `index.m3u8`), written by the replica that mixes it from the
 * playlists its ffmpeg runs write for themselves. This is what lets a mix change without a
 * gap: a run that replaces another (a co-host joined or left) is started beside it, and the
 * playlists go on from the old run to the new one at the new run's segment that starts
 * nearest where the old one was (`#EXT-X-PROGRAM-DATE-TIME`); only then does the old run
 * stop. Players see one discontinuity and never wait. It also deletes the segments that left.
 */
export class LivePublisher {
  private current: Feed | null = null;
  private pending: Feed | null = null;
  private readonly dropped: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** '' for the single output; else the renditions' names, the first deciding where runs meet. */
  private readonly variants: readonly string[];

  private constructor(
    private readonly dir: string,
    private readonly playlists: Map<string, PublicPlaylist>,
    private readonly options: PublisherOptions,
  ) {
    this.variants = [...playlists.keys()];
  }

  /** The stream's playlists as they stand (written by this replica before, or another), to go on from. */
  static async open(dir: string, options: PublisherOptions): Promise<LivePublisher> {
    const variants = options.renditions?.map((r) => r.name) ?? [''];
    const playlists = new Map<string, PublicPlaylist>();
    for (const variant of variants) {
      const text = await readFile(join(dir, publicFile(variant)), 'utf8').catch(() => null);
      playlists.set(
        variant,
        text === null
          ? PublicPlaylist.empty(options.listSize, options.segmentS)
          : PublicPlaylist.parse(text, options.listSize, options.segmentS),
      );
    }
    return new LivePublisher(dir, playlists, options);
  }

  /** Where ffmpeg writes the playlist of `run` (of one rendition of it, with a ladder). */
  static runPlaylist(run: string, variant = ''): string {
    return variant === '' ? `${run}.m3u8` : `${run}-${variant}.m3u8`;
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

  /** Stops reading, leaving the playlists as they are (the stream went to another replica, or this one stops). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    [this.current, this.pending] = [null, null];
    await this.ticking;
  }

  /** Publishes the last segments out, then marks the playlists ended: players stop at their last segment. */
  async end(): Promise<void> {
    await this.tick().catch(() => undefined);
    await this.stop();
    if (this.lead.ended) return;
    for (const playlist of this.playlists.values()) playlist.end();
    await this.write();
  }

  /** One look at the runs' playlists; what is new is published. One at a time. */
  tick(): Promise<void> {
    this.ticking ??= this.advance().finally(() => (this.ticking = null));
    return this.ticking;
  }

  /** The playlist of the first rendition (the only one without a ladder): where runs meet is decided on it. */
  private get lead(): PublicPlaylist {
    return this.playlists.get(this.variants[0]!)!;
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
    const next = await this.read(pending);
    if (next.count === 0) return 'no handover';
    const previous = this.current;
    const fresh = previous ? await this.read(previous) : null;
    const leadOf = (f: Fresh) => f.byVariant.get(this.variants[0]!)!;
    const halfMs = this.options.segmentS * 500;
    for (let k = fresh?.count ?? 0; k >= 0; k--) {
      const last = k === 0 ? null : leadOf(fresh!)[k - 1]!;
      const end = last === null ? this.lead.endMs : last.startMs === null ? null : last.startMs + last.duration * 1000;
      const from = leadOf(next).findIndex((s) => end === null || s.startMs === null || s.startMs >= end - halfMs);
      if (from === -1) continue;
      const before = previous && k > 0 ? this.publish(previous, fresh!, 0, k).dropped : [];
      [this.current, this.pending] = [pending, null];
      const after = this.publish(pending, next, from, next.count);
      return { ...after, dropped: [...before, ...after.dropped], switchedFrom: previous?.run ?? null };
    }
    return 'hold';
  }

  private async carryOn(): Promise<Published | null> {
    const current = this.current;
    if (!current) return null;
    const fresh = await this.read(current);
    return fresh.count === 0 ? null : this.publish(current, fresh, 0, fresh.count);
  }

  /** Lists the run's new segments `from`..`to` (exclusive) in every rendition's playlist. */
  private publish(feed: Feed, fresh: Fresh, from: number, to: number): Published {
    const first = !feed.published;
    const dropped: string[] = [];
    for (const variant of this.variants) {
      const playlist = this.playlists.get(variant)!;
      const discontinuity = first && playlist.started;
      for (const [i, segment] of (fresh.byVariant.get(variant) ?? []).slice(from, to).entries())
        dropped.push(...playlist.append(segment, discontinuity && i === 0));
    }
    feed.published = true;
    feed.next = indexOf(fresh.byVariant.get(this.variants[0]!)![to - 1]!.name) + 1;
    return { dropped, firstOf: first ? feed.run : null, switchedFrom: null };
  }

  /** The run's segments not published yet that every rendition has, aligned; none while its playlists are not there. */
  private async read(feed: Feed): Promise<Fresh> {
    const lists = await Promise.all(
      this.variants.map(async (variant) => {
        const text = await readFile(join(this.dir, LivePublisher.runPlaylist(feed.run, variant)), 'utf8').catch(
          () => '',
        );
        const prefix = variant === '' ? `${feed.run}-` : `${feed.run}-${variant}-`;
        return runSegments(text).filter((s) => s.name.startsWith(prefix) && indexOf(s.name) >= feed.next);
      }),
    );
    const everywhere = lists
      .map((list) => new Set(list.map((s) => indexOf(s.name))))
      .reduce((common, indexes) => new Set([...common].filter((i) => indexes.has(i))));
    const byVariant = new Map(
      this.variants.map((variant, v) => [variant, lists[v]!.filter((s) => everywhere.has(indexOf(s.name)))]),
    );
    return { byVariant, count: everywhere.size };
  }

  /** Writes beside, then renames over: a player never reads half a playlist. */
  private async write(): Promise<void> {
    const files = [...this.playlists].map(([variant, playlist]) => [publicFile(variant), playlist.render()]);
    if (this.options.renditions) files.push([PLAYLIST, master(this.options.renditions)]);
    for (const [file, text] of files) {
      const path = join(this.dir, file!);
      await writeFile(`${path}.next`, text!);
      await rename(`${path}.next`, path);
    }
  }

  /**
   * Deletes what no player will ask for: segments out of the windows for a while, and
   * the segments and playlists of runs no longer followed (passed over at a handover,
   * or left by a replica that died).
   */
  private async sweep(): Promise<void> {
    this.dropped.splice(0, Math.max(0, this.dropped.length - KEEP_DROPPED * this.variants.length));
    const keep = new Set([
      PLAYLIST,
      ...this.variants.map(publicFile),
      ...[...this.playlists.values()].flatMap((p) => p.names),
      ...this.dropped,
    ]);
    const feeds = [this.current, this.pending].filter((feed): feed is Feed => feed !== null);
    // A followed run's own playlists, and its segments not published yet.
    const coming = (file: string) =>
      feeds.some(
        ({ run, next }) =>
          this.variants.some((variant) => file === LivePublisher.runPlaylist(run, variant)) ||
          (file.startsWith(`${run}-`) && file.endsWith('.ts') && indexOf(file) >= next),
      );
    const files = await readdir(this.dir).catch(() => []);
    const stale = files.filter(
      (file) => (file.endsWith('.ts') || file.endsWith('.m3u8')) && !keep.has(file) && !coming(file),
    );
    await Promise.all(stale.map((file) => rm(join(this.dir, file), { force: true })));
  }
}

/** The public playlist of a rendition: `index.m3u8` without a ladder. */
function publicFile(variant: string): string {
  return variant === '' ? PLAYLIST : `${variant}.m3u8`;
}

/** The master playlist of a ladder: each rendition's playlist, its peak bandwidth and its picture size. */
function master(renditions: readonly Rendition[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const r of renditions) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${(r.videoKbps + AUDIO_KBPS) * 1000},RESOLUTION=${r.width}x${r.height}`,
      publicFile(r.name),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The n of a segment named `<run>-<n>.ts` (or `<run>-<rendition>-<n>.ts`). */
function indexOf(name: string): number {
  return Number(/-(\d+)\.ts$/.exec(name)?.[1] ?? -1);
}
