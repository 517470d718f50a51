import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import type { PushState, StreamJob, StreamSpec } from '@mesh/contracts';
import {
  checkInputUrl,
  checkOutputUrl,
  compose,
  liveCommands,
  addressListed,
  endpointAllowed,
  maskUrls,
  type MediaPolicy,
  type MediaSource,
} from '@mesh/streams';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EgressProxy } from './egress-proxy';
import { pinned } from './pinned-source';
import { MixControl } from './mix-control';
import { ProcessRunner, stopChild, type ChildRun } from './process-runner';
import { sweepHls } from './hls-retention';
import { afterExit, afterLiveRefused, planRevision, type JobFacts } from './mix-decisions';
import { LivePublisher } from './live-publisher';
import { AudioProbe, MISSING_AUDIO } from './audio-probe';
import { HLS_LIST_SIZE, ffmpegArgs, ladderOf, pushArgs } from './ffmpeg-command';
import { PushRelay } from './push-relay';

export type JobStatus = StreamJob['status'];
export type JobReport = (spec: StreamSpec, status: JobStatus, error: string | null, push: PushState | null) => void;

/** How long ffmpeg gets to finish its segment and playlist after SIGTERM before it is killed. */
const STOP_GRACE_MS = 3_000;
/** How often a run's own playlist is read for segments to publish. */
const PLAYLIST_POLL_MS = 100;
const STDERR_LINES = 20;
const CONNECTING: PushState = { state: 'connecting', error: null };

interface Job {
  spec: StreamSpec;
  /** Names each ffmpeg run's segments; increasing, and unique across processes (it starts from the clock). */
  run: number;
  child: ChildRun | null;
  /** The run `child` is: its files' prefix (see MixOutput). */
  prefix: string | null;
  /**
   * A run started beside `child` to replace it without a gap (a co-host joined or left):
   * it takes over once the public playlist goes on to it, and `child` stops then.
   */
  next: { child: ChildRun; prefix: string; control: string } | null;
  /** Writes the stream's public playlist from its runs' own; opened at the first launch here. */
  publisher: LivePublisher | null;
  status: JobStatus;
  /** The error told with `status` (restarting, failed), told again with a push's news. */
  error: string | null;
  failures: number;
  retry: NodeJS.Timeout | null;
  /** The room's RTMP push, when it has one, and the URL it pushes to: it goes on across the room's runs. */
  relay: { relay: PushRelay; target: string } | null;
  requestedAt: number;
  /** Input URLs found to carry no audio (a screen share, a camera without its microphone): mixed as silent. */
  withoutAudio: Set<string>;
  /** When ffmpeg was started for it within the last minute (MIX_RESTARTS_PER_MIN). */
  launches: number[];
  /** Where its running ffmpeg takes runtime commands (see MixControl). */
  control: string | null;
}

/**
 * The ffmpeg processes of the streams this replica mixes, one per live stream.
 * A new revision that only moves, resizes, turns up or down or mutes who is there
 * goes into the running process as runtime commands (see MixControl). Any other
 * replaces the process (ffmpeg cannot add an input to a running graph): a live mix
 * is replaced make-before-break, the new run started beside it and the public
 * playlist going on to it without a gap (see LivePublisher), and the room's RTMP
 * push too (see PushRelay: one publisher for the ingest, whatever the runs). An
 * older revision is ignored. A
 * process that dies is restarted with exponential backoff, then the job fails with
 * ffmpeg's reason. ffmpeg never outlives its stream (stop), its job (replace) or
 * this process (the runner's part: see SpawnRunner).
 */
@Injectable()
export class MixJobs implements OnApplicationShutdown {
  private readonly jobs = new Map<string, Job>();
  /** Changes of one stream apply one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly policy: MediaPolicy;
  private readonly egress: EgressProxy;
  private readonly probe: AudioProbe;
  private sweeper: NodeJS.Timeout | null = null;
  private report: JobReport = () => undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly runner: ProcessRunner,
    private readonly control: MixControl,
  ) {
    const { mix } = config;
    this.policy = {
      inputHosts: mix.inputHosts,
      outputHosts: mix.outputHosts,
      testSources: mix.testSources,
      srtOptions: mix.srtOptions,
    };
    // ffmpeg's http(s) inputs and its TLS (rtmps in and out) all leave through the proxy.
    const endpoints = [...mix.inputHosts, ...mix.outputHosts];
    this.egress = new EgressProxy(
      {
        allows: (host, port, defaultPort) => endpointAllowed(host, port, defaultPort, endpoints),
        listed: (address) => addressListed(address, endpoints),
      },
      logger,
    );
    this.probe = new AudioProbe((args) => this.spawnFfmpeg(args), {
      inputTimeoutS: mix.inputTimeoutS,
      caFile: mix.caFile,
    });
  }

  onReport(report: JobReport): void {
    this.report = report;
  }

  /**
   * Brings the stream's job to `spec`: started, rebuilt or stopped. False when
   * this replica already mixes that revision or a later one.
   */
  apply(spec: StreamSpec): Promise<boolean> {
    return this.serially(spec.id, async () => {
      const job = this.jobs.get(spec.id) ?? null;
      const now = Date.now();
      let plan = planRevision(
        job && this.factsOf(job),
        spec,
        this.held.get(spec.id)?.spec.revision ?? null,
        now,
        this.config.mix.restartsPerMin,
      );
      if (plan.kind === 'ignore') return false;
      if (plan.kind === 'stop') {
        this.release(spec.id);
        if (job) await this.end(job, 'stopped');
        return true;
      }
      if (plan.kind === 'try-live') {
        // A new layout, focus, volume or mute goes into the running mix: no restart, no gap.
        if (job && (await this.changeLive(job, spec))) return true;
        plan = afterLiveRefused(job && this.factsOf(job), plan.replace, now, this.config.mix.restartsPerMin);
      }
      if (plan.kind === 'hold') {
        // Past MIX_RESTARTS_PER_MIN the change is held (the mix goes on as it is, nothing waits on it) and
        // the latest one held is applied once the minute allows; it is announced when its first segment is out.
        this.hold(spec, plan.waitMs);
        return false;
      }
      if (plan.kind !== 'replace') return false;
      this.release(spec.id);
      const next: Job = job ?? {
        spec,
        run: 0,
        child: null,
        prefix: null,
        next: null,
        publisher: null,
        status: 'starting',
        error: null,
        failures: 0,
        retry: null,
        relay: null,
        requestedAt: now,
        withoutAudio: new Set(),
        launches: [],
        control: null,
      };
      // Beside: the mix on air goes on until the new one is; else it stops first.
      if (job && plan.beside) await this.dropNext(job);
      else if (job) await this.halt(job);
      next.spec = spec;
      next.failures = 0;
      next.requestedAt = now;
      // A push given up is worth another go with the host's change.
      next.relay?.relay.revive();
      this.jobs.set(spec.id, next);
      if (plan.newRun) this.setStatus(next, 'starting', null);
      await this.launch(next, plan.beside);
      return true;
    });
  }

  /** What the job's decisions go by (see mix-decisions). */
  private factsOf(job: Job): JobFacts {
    return { spec: job.spec, status: job.status, running: job.child !== null, launches: job.launches };
  }

  /** The streams this replica mixes now. */
  running(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Lets a stream go to the replica that owns it now (its group was rebalanced): its ffmpeg
   * stops, its playlist is left open and nothing is reported; the new owner carries the
   * playlist on (one discontinuity) and reports the stream live again.
   */
  handOver(streamId: string): Promise<void> {
    return this.serially(streamId, async () => {
      this.release(streamId);
      const job = this.jobs.get(streamId);
      if (!job) return;
      this.jobs.delete(streamId);
      await this.halt(job);
      await this.closeRelay(job);
      await job.publisher?.stop();
    });
  }

  /**
   * Deletes, from time to time, the HLS of streams that ended (or were abandoned) more
   * than MIX_HLS_RETAIN_S ago; the streams this replica mixes are left alone.
   */
  startSweeping(): void {
    if (this.sweeper) return;
    const { hlsDir, hlsRetainS } = this.config.mix;
    const sweep = async () => {
      const keep = new Set([...this.jobs.values()].filter((j) => j.status !== 'failed').map((j) => j.spec.id));
      try {
        const removed = await sweepHls(hlsDir, hlsRetainS * 1000, keep);
        if (removed.length > 0) this.logger.info({ streams: removed.length }, 'deleted the HLS of ended streams');
      } catch (err) {
        this.logger.warn({ err }, 'HLS sweep failed; trying again later');
      }
    };
    this.sweeper = setInterval(() => void sweep(), Math.min(60, hlsRetainS) * 1000).unref();
  }

  /** Stops every mix (once, whoever asks first: the mix function stops them before it gives up their leases). */
  onApplicationShutdown(): Promise<void> {
    this.shutdown ??= this.stopAll();
    return this.shutdown;
  }

  private shutdown: Promise<void> | null = null;

  private async stopAll(): Promise<void> {
    this.closed = true;
    for (const streamId of [...this.held.keys()]) this.release(streamId);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    // Playlists are left open: whoever mixes the streams next goes on with them.
    await Promise.all(
      [...this.jobs.values()].map(async (job) => {
        await this.halt(job);
        await this.closeRelay(job);
        await job.publisher?.stop();
      }),
    );
    this.jobs.clear();
    await this.egress.close();
  }

  /**
   * Applies `spec` to the job's running ffmpeg through runtime commands, when it only moves,
   * resizes, turns up or down or mutes who is already there. False when that cannot be done
   * (other participants or inputs, another output, another run) or ffmpeg did not take the
   * commands: the change then restarts the mix.
   */
  private async changeLive(job: Job, spec: StreamSpec): Promise<boolean> {
    // While a run is taking over, a change goes to the run after it.
    if (!job.child || job.next || !job.control) return false;
    const commands = liveCommands(job.spec, spec, this.config.mix.canvas, this.silentOf(job, spec));
    if (commands === null) return false;
    const started = Date.now();
    try {
      await this.control.send(job.control, commands);
    } catch (err) {
      this.logger.warn({ err, streamId: spec.id }, 'change not taken by the running mix; restarting it');
      return false;
    }
    this.release(spec.id);
    job.spec = spec;
    this.metrics.mixSwitch.observe({ how: 'live' }, (Date.now() - started) / 1000);
    // The same run, now at this revision: told as it stands (live, or still starting).
    this.setStatus(job, job.status, null);
    return true;
  }

  /** The inputs of `spec` found to carry no audio, by position. */
  private silentOf(job: Job, spec: StreamSpec): Set<number> {
    return new Set(spec.participants.flatMap((p, i) => (job.withoutAudio.has(p.inputUrl) ? [i] : [])));
  }

  /** Starts a run of the job's spec: instead of the one on air, or with `beside`, next to it to take over. */
  private async launch(job: Job, beside = false): Promise<void> {
    const { spec } = job;
    const sources: MediaSource[] = [];
    for (const p of spec.participants) {
      // Checked again here: the mixer trusts no URL it did not check itself; and where it resolves, now.
      const checked = checkInputUrl(p.inputUrl, this.policy);
      if (!checked.ok) return this.fail(job, `the input of ${p.userId} is not allowed: ${checked.reason}`);
      if (checked.value.kind !== 'network') {
        sources.push(checked.value);
        continue;
      }
      const pin = await pinned(checked.value, this.policy.inputHosts);
      if (!pin.ok) return this.fail(job, `the input of ${p.userId} is not allowed: ${pin.reason}`);
      sources.push({ ...checked.value, ...pin.value });
    }
    if (sources.length === 0) return this.fail(job, 'the stream has no participants');
    const relay = await this.relayOf(job);
    if (typeof relay === 'string') return this.fail(job, relay);
    const { mix } = this.config;
    const dir = join(mix.hlsDir, spec.id);
    await mkdir(dir, { recursive: true });
    const publisher = await this.publisherOf(job);
    job.run = Math.max(job.run + 1, Date.now());
    const segmentPrefix = `r${spec.revision}-${job.run}`;
    const control = await this.control.address();
    const composition = compose(spec, mix.canvas, { withoutAudio: this.silentOf(job, spec), control });
    const push = relay ? await relay.feed(segmentPrefix) : null;
    const args = ffmpegArgs(sources, composition, {
      canvas: mix.canvas,
      dir,
      segmentPrefix,
      segmentS: mix.segmentS,
      x264Preset: mix.x264Preset,
      renditions: spec.output.ladder ? ladderOf(mix.canvas) : null,
      push,
      inputTimeoutS: mix.inputTimeoutS,
      caFile: mix.caFile,
    });
    const child = await this.spawnFfmpeg(args);
    if (beside) job.next = { child, prefix: segmentPrefix, control };
    else [job.child, job.prefix, job.control] = [child, segmentPrefix, control];
    // The push goes on from this run's first keyframe: instead of a run that ended, or, beside the run
    // on air, as soon as this one mixes (before the HLS goes on to it, which waits for a whole segment).
    void relay?.onAir(segmentPrefix, this.switchTimeoutMs());
    publisher.follow(segmentPrefix, beside);
    publisher.start(PLAYLIST_POLL_MS);
    // The last minute's starts are what MIX_RESTARTS_PER_MIN counts.
    job.launches = [...job.launches.filter((at) => Date.now() - at < 60_000), Date.now()];
    this.metrics.mixJobs.inc();
    const stderr: string[] = [];
    child.onStderr((chunk) => {
      const lines = chunk.split('\n').filter((line) => line.trim() !== '');
      stderr.push(...lines);
      stderr.splice(0, Math.max(0, stderr.length - STDERR_LINES));
    });
    child.onStdout((chunk) => {
      const speed = /speed=\s*([\d.]+)x/.exec(chunk)?.[1];
      if (speed !== undefined) this.metrics.mixSpeed.observe(Number(speed));
    });
    void child.exited.then(({ code, signal }) => {
      this.metrics.mixJobs.dec();
      // Its feed of the push is over (a run that never got to write to it included).
      relay?.drop(segmentPrefix);
      const ended = () => {
        const reason = describeExit(code, signal, stderr, job.spec);
        if (stderr.some((line) => MISSING_AUDIO.test(line))) return this.mixWithoutAudio(job, sources, reason);
        this.onCrash(job, reason);
        return Promise.resolve();
      };
      if (job.next?.child === child) {
        // The run that was to take over ended first: the one on air stops too, and the change is
        // retried as after any crash (a restart, with backoff).
        void this.serially(job.spec.id, async () => {
          if (job.next?.child !== child) return;
          await this.halt(job);
          await ended();
        });
        return;
      }
      if (job.child !== child) return; // replaced or stopped on purpose
      job.child = null;
      // A run is about to take over from this one: the playlist goes on to it, no restart needed.
      if (job.next) return;
      void this.serially(job.spec.id, ended);
    });
  }

  /** The job's publisher, opened on the playlist as it stands; it tells the job what players see. */
  private async publisherOf(job: Job): Promise<LivePublisher> {
    /** The run that last took over beside another. */
    let tookOver: string | null = null;
    job.publisher ??= await LivePublisher.open(join(this.config.mix.hlsDir, job.spec.id), {
      listSize: HLS_LIST_SIZE,
      segmentS: this.config.mix.segmentS,
      renditions: job.spec.output.ladder ? ladderOf(this.config.mix.canvas) : null,
      switched: (from) => {
        // The playlist went on to the run beside: it is the one on air now, and the one before stops.
        if (!job.next || from !== job.prefix) return;
        const previous = job.child;
        [job.child, job.prefix, job.control] = [job.next.child, job.next.prefix, job.next.control];
        job.next = null;
        tookOver = job.prefix;
        if (!previous) return;
        // The push has gone on to the new run (or does at its next keyframe); the one before stops then.
        const relay = job.relay?.relay;
        if (relay && job.prefix) void relay.onAir(job.prefix, this.switchTimeoutMs()).then(() => stop(previous));
        else void stop(previous);
      },
      published: (run) => {
        // `live` once players can see the run's first segment.
        if (run !== job.prefix || !job.child) return;
        const how = run === tookOver ? 'handover' : 'restart';
        this.metrics.mixSwitch.observe({ how }, (Date.now() - job.requestedAt) / 1000);
        job.failures = 0;
        this.setStatus(job, 'live', null);
      },
    });
    return job.publisher;
  }

  /**
   * The room's push relay, opened (its output URL checked and pinned) for its first run and
   * kept for the next ones; a new URL is a new relay, none closes it. A string: why the
   * output is refused.
   */
  private async relayOf(job: Job): Promise<PushRelay | null | string> {
    const target = job.spec.output.rtmpUrl;
    if (job.relay && job.relay.target === target) return job.relay.relay;
    await this.closeRelay(job);
    if (target === null) return null;
    const checked = checkOutputUrl(target, this.policy);
    if (!checked.ok) return `the RTMP output is not allowed: ${checked.reason}`;
    const scheme = checked.value.startsWith('rtmps:') ? 'rtmps' : 'rtmp';
    const pin = await pinned({ kind: 'network', scheme, url: checked.value }, this.policy.outputHosts);
    if (!pin.ok) return `the RTMP output is not allowed: ${pin.reason}`;
    const { mix } = this.config;
    const relay = await PushRelay.open({
      fps: mix.canvas.fps,
      retries: mix.pushRetries,
      target: pin.value.url,
      args: (input) => pushArgs(input, pin.value, { inputTimeoutS: mix.inputTimeoutS, caFile: mix.caFile }),
      start: (args) => this.spawnFfmpeg(args),
      metrics: this.metrics,
      changed: () => {
        if (job.relay?.relay === relay) this.setStatus(job, job.status, job.error);
      },
    });
    job.relay = { relay, target };
    return relay;
  }

  private async closeRelay(job: Job): Promise<void> {
    const relay = job.relay?.relay;
    job.relay = null;
    await relay?.close();
  }

  /** How long a run beside waits for the push to go on to it (its next keyframe) before the one before stops anyway. */
  private switchTimeoutMs(): number {
    return this.config.mix.segmentS * 2_000 + 1_000;
  }

  private async spawnFfmpeg(args: string[]): Promise<ChildRun> {
    return this.runner.start(this.config.mix.ffmpegPath, args, await this.ffmpegEnv());
  }

  /**
   * ffmpeg refuses a graph that names the audio of an input that has none, and does not
   * say which input it was. So the network inputs not known yet are probed, and those
   * with only a picture are mixed as silent from then on; if none is found, it was a crash.
   */
  private async mixWithoutAudio(job: Job, sources: readonly MediaSource[], reason: string): Promise<void> {
    // Still this job, and nothing relaunched it meanwhile (a new revision, a stop, shutdown).
    const idle = () => this.jobs.get(job.spec.id) === job && job.child === null;
    if (!idle()) return;
    const unknown = job.spec.participants.flatMap((p, i) => {
      const source = sources[i];
      return source?.kind === 'network' && !job.withoutAudio.has(p.inputUrl) ? [{ p, source }] : [];
    });
    const probed = await Promise.all(
      unknown.map(async ({ p, source }) => ({ p, audio: await this.probe.hasAudio(source) })),
    );
    const silent = probed.filter(({ audio }) => audio === false).map(({ p }) => p);
    if (!idle()) return;
    if (silent.length === 0) return this.onCrash(job, reason);
    for (const p of silent) job.withoutAudio.add(p.inputUrl);
    this.logger.info(
      { streamId: job.spec.id, inputs: silent.map((p) => p.userId) },
      'mixing inputs without audio as silent',
    );
    await this.launch(job);
  }

  /**
   * ffmpeg's environment: every HTTP(S) connection it makes, redirects and playlist
   * entries included, goes through the egress proxy, which holds it to MIX_INPUT_HOSTS.
   */
  private async ffmpegEnv(): Promise<NodeJS.ProcessEnv> {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(https?|no|all)_proxy$/i.test(name)),
    );
    return { ...env, http_proxy: await this.egress.url() };
  }

  private onCrash(job: Job, reason: string): void {
    job.failures += 1;
    const next = afterExit(job.failures, this.config.mix.maxRestarts);
    if (next === 'fail') {
      this.metrics.mixRestarts.inc({ outcome: 'failed' });
      this.fail(job, reason);
      return;
    }
    this.metrics.mixRestarts.inc({ outcome: 'restarting' });
    this.logger.warn({ streamId: job.spec.id, reason, failures: job.failures }, 'mix ended; restarting');
    this.setStatus(job, 'restarting', reason);
    job.retry = setTimeout(() => {
      job.retry = null;
      void this.serially(job.spec.id, () =>
        this.jobs.get(job.spec.id) === job ? this.launch(job) : Promise.resolve(),
      );
    }, next.restartInMs);
  }

  /** The room failed: whatever of it still runs stops (a run on air whose successor could not start), players are told the end. */
  private fail(job: Job, reason: string): void {
    this.logger.warn({ streamId: job.spec.id, reason }, 'mix failed');
    this.setStatus(job, 'failed', reason);
    void this.halt(job)
      .then(() => this.closeRelay(job))
      .then(() => this.endPlaylistOf(job));
  }

  /** Players stop at the last segment of a stream that stopped or failed. */
  private async endPlaylistOf(job: Job): Promise<void> {
    try {
      await (await this.publisherOf(job)).end();
    } catch (err) {
      this.logger.warn({ err, streamId: job.spec.id }, 'playlist not marked as ended');
    }
  }

  private setStatus(job: Job, status: JobStatus, error: string | null): void {
    job.status = status;
    job.error = error;
    // A room to push whose relay is not open yet (its first run is starting) is connecting.
    const push = job.relay?.relay.state() ?? (job.spec.output.rtmpUrl ? CONNECTING : null);
    this.report(job.spec, status, error, push);
  }

  private async end(job: Job, status: JobStatus): Promise<void> {
    await this.halt(job);
    await this.closeRelay(job);
    await this.endPlaylistOf(job);
    this.jobs.delete(job.spec.id);
    this.report(job.spec, status, null, null);
  }

  /** Stops the job's processes (the one on air, and one taking over) and its retry. */
  private async halt(job: Job): Promise<void> {
    if (job.retry) clearTimeout(job.retry);
    job.retry = null;
    const child = job.child;
    job.child = null;
    await Promise.all([this.dropNext(job), child && stop(child)]);
  }

  /** Stops a run that was to take over (a later change replaces it), leaving the one on air. */
  private async dropNext(job: Job): Promise<void> {
    const next = job.next;
    if (!next) return;
    job.next = null;
    job.publisher?.abandon(next.prefix);
    const relay = job.relay?.relay;
    relay?.drop(next.prefix);
    // The push may have gone on to it already: back to the run on air (at once if it had not).
    if (relay && job.prefix) void relay.onAir(job.prefix, this.switchTimeoutMs());
    await stop(next.child);
  }

  /** Changes held back by the restart limit, per stream: the latest, and the timer that applies it. */
  private readonly held = new Map<string, { spec: StreamSpec; timer: NodeJS.Timeout }>();

  private hold(spec: StreamSpec, waitMs: number): void {
    const held = this.held.get(spec.id);
    if (held) {
      if (held.spec.revision < spec.revision) held.spec = spec;
      return;
    }
    const timer = setTimeout(() => {
      const latest = this.held.get(spec.id)?.spec;
      this.held.delete(spec.id);
      if (latest && !this.closed) void this.apply(latest);
    }, waitMs);
    this.held.set(spec.id, { spec, timer });
  }

  /** Forgets a held change: a later one, or a stop, supersedes it. */
  private release(streamId: string): void {
    const held = this.held.get(streamId);
    if (!held) return;
    clearTimeout(held.timer);
    this.held.delete(streamId);
  }

  /** Shutting down: a change that waited starts nothing any more. */
  private closed = false;

  private serially<T>(streamId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(streamId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(streamId, tail);
    void tail.then(() => {
      if (this.queues.get(streamId) === tail) this.queues.delete(streamId);
    });
    return next;
  }
}

/** Stops a run: ffmpeg gets STOP_GRACE_MS to finish its segment and playlist. */
const stop = (child: ChildRun) => stopChild(child, STOP_GRACE_MS);

/**
 * Why ffmpeg ended, in words a host can act on. Input URLs (which may hold stream
 * keys) never appear: each is named by its participant.
 */
export function describeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: readonly string[],
  spec: Pick<StreamSpec, 'participants'> & { output: Pick<StreamSpec['output'], 'rtmpUrl'> },
): string {
  for (const line of stderr) {
    for (const p of spec.participants) {
      const at = line.indexOf(`${p.inputUrl}: `);
      if (at !== -1)
        return `the input of ${p.userId} failed: ${maskUrls(line.slice(at + p.inputUrl.length + 2).trim())}`;
    }
  }
  const last = stderr.at(-1);
  const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
  if (!last) return `ffmpeg ${how}`;
  let text = last.replace(/^\[[^\]]*\]\s*/, '');
  for (const p of spec.participants) text = text.split(p.inputUrl).join(`<input of ${p.userId}>`);
  if (spec.output.rtmpUrl) text = text.split(spec.output.rtmpUrl).join('<rtmp output>');
  // Any other URL ffmpeg names (after a redirect, say) is masked too: this text is logged.
  return `ffmpeg ${how}: ${maskUrls(text)}`;
}
