import type { PushState } from '@mesh/contracts';
import { maskUrls } from '@mesh/streams';
import type { Metrics } from '@mesh/telemetry';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterPushFailure } from './mix-decisions';
import {
  TS_CLOCK_HZ,
  TsSplitter,
  decodeTime,
  pidOf,
  programMapPid,
  programStreams,
  randomAccess,
  shiftTimestamps,
  startsUnit,
  wrapAdd,
} from './mpegts';
import { stopChild, type ChildRun } from './process-runner';

/** What the pusher may have queued towards the ingest before what comes is dropped (up to the next keyframe). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** How long the pusher gets to finish after SIGTERM before it is killed. */
const STOP_GRACE_MS = 2_000;
const STDERR_LINES = 10;

export interface PushRelayOptions {
  /** The frame rate of the runs: the least step between the last frame of one and the first of the next. */
  readonly fps: number;
  /** MIX_PUSH_RETRIES: dropped pushes in a row tried again before the push is `failed`. */
  readonly retries: number;
  /** The pusher's command line, reading MPEG-TS from `input` and pushing it to the ingest. */
  readonly args: (input: string) => string[];
  /** Starts a process (the pusher). */
  readonly start: (args: string[]) => Promise<ChildRun>;
  /** The push's state changed (see `state`). */
  readonly changed: () => void;
  /** The ingest's URL as the pusher names it in its errors: cut from the reason a host is told. */
  readonly target: string;
  /** `mesh_mix_pushes` by state, drops, and how long a switch waited for its keyframe. */
  readonly metrics: Metrics;
}

interface Feed {
  readonly server: Server;
  readonly splitter: TsSplitter;
  /** The program's PAT and PMT as last seen: sent before a cut, so a decoder starting there knows the streams. */
  pat: Buffer | null;
  pmt: Buffer | null;
  pmtPid: number | null;
  video: number | null;
  /** Its elementary streams (their PES packets carry the timestamps moved). */
  pids: Set<number>;
  /** Streams whose first PES since the cut was forwarded: until then their packets are the rest of one that was not. */
  started: Set<number>;
  /** Ticks added to its timestamps, so that they go on from the runs before it. */
  delta: number;
  ended: boolean;
}

/**
 * A room's RTMP push, kept apart from the runs that mix the room, so the ingest sees one
 * publisher from the room's start to its end whatever the mix does: a co-host joining
 * (a new run beside the one on air), a crashed run restarted, a push dropped.
 *
 * Each run writes MPEG-TS to a Unix socket of its own here (`feed`). The relay passes the
 * on-air run's packets on to one pusher (ffmpeg remuxing into FLV, owning the RTMP
 * connection); `onAir` moves it to another run at that run's next keyframe (a run started
 * beside: its first), after which the old run may stop. Timestamps are moved so that each run goes on from the last:
 * the ingest sees one stream, never a new publisher or time going backwards.
 *
 * The pusher's state is the push's: connecting, connected once it wrote to the ingest,
 * retrying after it ended (1 s, 2 s… up to 30 s; see afterPushFailure), failed once
 * MIX_PUSH_RETRIES are spent. The sockets live in a directory only this user may enter.
 */
export class PushRelay {
  private readonly feeds = new Map<string, Feed>();
  /** The run forwarded now. */
  private current: Feed | null = null;
  /** The run to go on to at its next keyframe, and who waits for it. */
  private pending: { feed: Feed; since: number; waiters: ((switched: boolean) => void)[] } | null = null;
  /** The pusher's connection here, once it made one. */
  private out: Socket | null = null;
  /** The next packet forwarded must start a keyframe (a new pusher, a new run, packets dropped). */
  private cut = true;
  /** The video decode time last forwarded (moved), and when. */
  private last: { dts: number; at: number } | null = null;
  private pusher: ChildRun | null = null;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  private push: PushState = { state: 'connecting', error: null };
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly server: Server,
    private readonly options: PushRelayOptions,
  ) {}

  /** A relay with its pusher started. */
  static async open(options: PushRelayOptions): Promise<PushRelay> {
    // mkdtemp makes the directory 0700.
    const dir = await mkdtemp(join(tmpdir(), 'mesh-mix-push-'));
    const server = createServer();
    const relay = new PushRelay(dir, server, options);
    options.metrics.mixPushes.inc({ state: relay.push.state });
    server.on('connection', (socket) => relay.pusherConnected(socket));
    await listen(server, join(dir, 'pusher.sock'));
    await relay.startPusher();
    return relay;
  }

  state(): PushState {
    return { ...this.push };
  }

  /** Where a run writes its MPEG-TS (an ffmpeg output URL), listening from now on. */
  async feed(run: string): Promise<string> {
    const path = join(this.dir, `${randomBytes(6).toString('hex')}.sock`);
    const server = createServer();
    const feed: Feed = {
      server,
      splitter: new TsSplitter(),
      pat: null,
      pmt: null,
      pmtPid: null,
      video: null,
      pids: new Set(),
      started: new Set(),
      delta: 0,
      ended: false,
    };
    server.maxConnections = 1;
    server.on('connection', (socket) => {
      socket.on('data', (chunk: Buffer) => this.take(feed, chunk));
      socket.on('error', () => undefined);
      socket.once('close', () => this.ended(run, feed));
    });
    this.feeds.set(run, feed);
    await listen(server, path);
    return `unix:${path}`;
  }

  /**
   * Forwards `run` from its next keyframe on, instead of the run forwarded now (which goes on
   * until then). True once it does (at once if it does already); false if it ended first, another
   * run was asked for meanwhile, or its keyframe did not come within `timeoutMs` (it is still
   * gone on to when it comes).
   */
  onAir(run: string, timeoutMs: number): Promise<boolean> {
    const feed = this.feeds.get(run);
    if (!feed || feed.ended) return Promise.resolve(false);
    if (feed === this.current) return Promise.resolve(true);
    if (this.pending?.feed !== feed) {
      this.settle(false);
      this.pending = { feed, since: performance.now(), waiters: [] };
    }
    const { waiters } = this.pending;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      waiters.push((switched) => {
        clearTimeout(timer);
        resolve(switched);
      });
    });
  }

  /** Tells whoever waits for the pending run whether it went on air, and forgets it. */
  private settle(switched: boolean): void {
    const pending = this.pending;
    this.pending = null;
    for (const waiter of pending?.waiters ?? []) waiter(switched);
  }

  /** Forgets a run that will not go on air (a later change replaced it). */
  drop(run: string): void {
    const feed = this.feeds.get(run);
    if (feed) this.ended(run, feed);
  }

  /** A push given up is tried afresh (the host changed the room: worth another go). */
  revive(): void {
    if (this.closed || this.push.state !== 'failed') return;
    this.failures = 0;
    this.setState({ state: 'connecting', error: null });
    void this.startPusher();
  }

  /** Stops the pusher (the ingest sees the publisher end) and every run's socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.settle(false);
    const pusher = this.pusher;
    this.pusher = null;
    if (pusher) await stopChild(pusher, STOP_GRACE_MS);
    this.out?.destroy();
    for (const [run, feed] of [...this.feeds]) this.ended(run, feed);
    this.server.close();
    this.options.metrics.mixPushes.dec({ state: this.push.state });
    await rm(this.dir, { recursive: true, force: true });
  }

  private async startPusher(): Promise<void> {
    if (this.closed) return;
    const pusher = await this.options.start(this.options.args(`unix:${join(this.dir, 'pusher.sock')}`));
    if (this.closed) {
      pusher.kill('SIGKILL');
      return;
    }
    this.pusher = pusher;
    const stderr: string[] = [];
    pusher.onStderr((chunk) => {
      stderr.push(...chunk.split('\n').filter((line) => line.trim() !== ''));
      stderr.splice(0, Math.max(0, stderr.length - STDERR_LINES));
    });
    pusher.onStdout((chunk) => {
      // `-progress`: bytes written to the ingest mean it took the connection and the stream's header.
      const written = /total_size=(\d+)/.exec(chunk)?.[1];
      if (written !== undefined && Number(written) > 0 && this.pusher === pusher) this.connected();
    });
    void pusher.exited.then(() => {
      if (this.pusher !== pusher || this.closed) return;
      this.pusher = null;
      this.dropped(this.reasonOf(stderr));
    });
  }

  private connected(): void {
    if (this.push.state === 'connected') return;
    this.failures = 0;
    this.setState({ state: 'connected', error: null });
  }

  /** The pusher ended by itself: the ingest refused or dropped it. */
  private dropped(reason: string): void {
    this.out?.destroy();
    this.out = null;
    this.failures += 1;
    this.options.metrics.mixPushDrops.inc();
    const next = afterPushFailure(this.failures, this.options.retries);
    if (next === 'fail') {
      this.setState({ state: 'failed', error: reason });
      return;
    }
    this.setState({ state: 'retrying', error: reason });
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.startPusher();
    }, next.retryInMs);
  }

  /**
   * What a host is told of a dropped push: ffmpeg's last words, without its URL (stream keys):
   * what follows the URL when ffmpeg names it (`Error writing trailer of <url>: Broken pipe`).
   */
  private reasonOf(stderr: readonly string[]): string {
    const last = stderr.at(-1)?.replace(/^\[[^\]]*\]\s*/, '') ?? 'the pusher ended';
    const named = last.indexOf(`${this.options.target}: `);
    return maskUrls(named === -1 ? last : last.slice(named + this.options.target.length + 2)).trim();
  }

  private setState(push: PushState): void {
    if (!this.closed) {
      this.options.metrics.mixPushes.dec({ state: this.push.state });
      this.options.metrics.mixPushes.inc({ state: push.state });
    }
    this.push = push;
    this.options.changed();
  }

  private pusherConnected(socket: Socket): void {
    this.out?.destroy();
    this.out = socket;
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (this.out === socket) this.out = null;
    });
    // A fresh pusher starts at a keyframe, with the program's tables; its timeline is its own.
    this.cut = true;
    this.last = null;
  }

  private ended(run: string, feed: Feed): void {
    if (this.feeds.get(run) === feed) this.feeds.delete(run);
    feed.ended = true;
    feed.server.close();
    if (this.pending?.feed === feed) this.settle(false);
  }

  /** A run's bytes: its packets, forwarded while it is the one on air. */
  private take(feed: Feed, chunk: Buffer): void {
    const forwarded: Buffer[] = [];
    for (const packet of feed.splitter.push(chunk)) {
      const pid = pidOf(packet);
      this.learn(feed, packet, pid);
      const keyframe = pid === feed.video && startsUnit(packet) && randomAccess(packet);
      if (keyframe && this.pending?.feed === feed) this.goOnTo(feed, packet);
      if (feed !== this.current || !this.out) continue;
      if (this.cut) {
        if (!keyframe) continue;
        this.cut = false;
        feed.started.clear();
        for (const table of [feed.pat, feed.pmt]) if (table) forwarded.push(table);
      }
      if (feed.pids.has(pid) && !feed.started.has(pid)) {
        if (!startsUnit(packet)) continue;
        feed.started.add(pid);
      }
      if (pid !== 0 && pid !== feed.pmtPid) shiftTimestamps(packet, feed.delta);
      const dts = pid === feed.video ? decodeTime(packet) : null;
      if (dts !== null) this.last = { dts, at: Date.now() };
      forwarded.push(packet);
    }
    if (forwarded.length === 0 || !this.out) return;
    if (this.out.writableLength > MAX_BUFFERED_BYTES) {
      // The ingest does not keep up: what comes is dropped, and the stream picks up at a keyframe.
      this.cut = true;
      return;
    }
    this.out.write(Buffer.concat(forwarded));
  }

  /** Keeps the program's tables, and which of its streams is the video. */
  private learn(feed: Feed, packet: Buffer, pid: number): void {
    if (pid === 0) {
      const pmtPid = programMapPid(packet);
      if (pmtPid === null) return;
      feed.pat = packet;
      feed.pmtPid = pmtPid;
    } else if (pid === feed.pmtPid) {
      const streams = programStreams(packet);
      if (!streams) return;
      feed.pmt = packet;
      feed.video = streams.video;
      feed.pids = new Set(streams.pids);
    }
  }

  /**
   * `feed` goes on air from this keyframe: its timestamps are moved to follow the last frame
   * forwarded by as much time as went by since (a frame at least), so the ingest's clock runs on.
   */
  private goOnTo(feed: Feed, keyframe: Buffer): void {
    const at = decodeTime(keyframe);
    if (at !== null && this.last) {
      const frameTicks = Math.round(TS_CLOCK_HZ / this.options.fps);
      const since = Math.round(((Date.now() - this.last.at) * TS_CLOCK_HZ) / 1000);
      feed.delta = wrapAdd(wrapAdd(this.last.dts, Math.max(frameTicks, since)), -at);
    }
    // A handover (the run before still feeding), not a first run or one after a crash: how long the new run took to its first keyframe here.
    if (this.pending && this.current && !this.current.ended) {
      this.options.metrics.mixPushSwitch.observe((performance.now() - this.pending.since) / 1000);
    }
    this.current = feed;
    this.cut = true;
    this.settle(true);
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
