import type { StreamJob, StreamSpec } from '@mesh/contracts';

/**
 * The mix job's decisions, apart from the processes and files they drive: each a pure
 * function of what the job knows and the event at hand (a new revision, a run ending, a
 * push dropped), answering what to do. MixJobs carries them out.
 */

/** What the job here knows when a new revision of its room arrives. */
export interface JobFacts {
  readonly spec: StreamSpec;
  readonly status: StreamJob['status'];
  /** An ffmpeg run is on air (or starting). */
  readonly running: boolean;
  /** When its runs were started, newest last (for MIX_RESTARTS_PER_MIN). */
  readonly launches: readonly number[];
}

/** What a new revision asks of the job. */
export type RevisionPlan =
  /** It is this revision or an older one, or a newer one is held already: nothing. */
  | { readonly kind: 'ignore' }
  /** The host stopped the room (or it is not to be live): its run stops and its playlist ends. */
  | { readonly kind: 'stop' }
  /** Runtime commands to the running mix may do (the same inputs, output and run); else `replace`. */
  | { readonly kind: 'try-live'; readonly replace: Replacement }
  /** The running mix restarted too often this minute: the change waits, the mix goes on as it is. */
  | { readonly kind: 'hold'; readonly waitMs: number }
  | ({ readonly kind: 'replace' } & Replacement);

/** How a new run replaces what runs. */
export interface Replacement {
  /** Started beside the run on air, which stops once the new one took over (no gap); else stop, then start. */
  readonly beside: boolean;
  /** A new run of the room (started again, or after it failed): it reports `starting` first. */
  readonly newRun: boolean;
}

const MINUTE_MS = 60_000;

/**
 * What to do with `spec`, the room's latest revision, given the job here (null: none yet),
 * the revision held back (if any), the time and MIX_RESTARTS_PER_MIN.
 */
export function planRevision(
  job: JobFacts | null,
  spec: StreamSpec,
  heldRevision: number | null,
  now: number,
  restartsPerMin: number,
): RevisionPlan {
  if (job && job.spec.revision >= spec.revision) return { kind: 'ignore' };
  if (spec.desired !== 'live') return { kind: 'stop' };
  if ((heldRevision ?? -1) > spec.revision) return { kind: 'ignore' };
  const replace = replacement(job, spec);
  if (job && job.running && job.status !== 'failed' && sameMix(job.spec, spec)) return { kind: 'try-live', replace };
  return afterLiveRefused(job, replace, now, restartsPerMin);
}

/** When runtime commands would not do, or the running mix refused them: replace it, or hold past the restart limit. */
export function afterLiveRefused(
  job: JobFacts | null,
  replace: Replacement,
  now: number,
  restartsPerMin: number,
): RevisionPlan {
  if (job?.running) {
    const waitMs = restartWait(job.launches, now, restartsPerMin);
    if (waitMs > 0) return { kind: 'hold', waitMs };
  }
  return { kind: 'replace', ...replace };
}

/** How long a change must wait before the mix may be restarted again (0: now): at most `perMin` starts a minute. */
export function restartWait(launches: readonly number[], now: number, perMin: number): number {
  const recent = launches.filter((at) => now - at < MINUTE_MS);
  if (recent.length < perMin) return 0;
  return recent[recent.length - perMin]! + MINUTE_MS - now;
}

/**
 * Make before break: a live mix of the same run is replaced by a run beside it. Its RTMP
 * push, if any, goes on to the new run (the room's push relay keeps the one publisher an
 * ingest takes per stream key); a push to a new address is a new publisher, so the mix
 * stops first.
 */
function replacement(job: JobFacts | null, spec: StreamSpec): Replacement {
  const beside =
    job !== null &&
    job.running &&
    job.status === 'live' &&
    job.spec.startRevision === spec.startRevision &&
    job.spec.output.rtmpUrl === spec.output.rtmpUrl;
  const newRun = !job || job.spec.startRevision !== spec.startRevision || job.status === 'failed';
  return { beside, newRun };
}

/** Whether `to` keeps the mix `from` runs: the same run, inputs in the same order, the same output. */
export function sameMix(from: StreamSpec, to: StreamSpec): boolean {
  const inputs = (s: StreamSpec) => JSON.stringify(s.participants.map((p) => [p.userId, p.inputUrl]));
  return (
    to.desired === 'live' &&
    from.startRevision === to.startRevision &&
    from.output.rtmpUrl === to.output.rtmpUrl &&
    from.output.ladder === to.output.ladder &&
    inputs(from) === inputs(to)
  );
}

const FIRST_BACKOFF_MS = 500;

/** A run ended on its own, its `failures`-th time in a row: restarted after 0.5 s, 1 s, 2 s…, or failed past `maxRestarts`. */
export function afterExit(failures: number, maxRestarts: number): { restartInMs: number } | 'fail' {
  if (failures > maxRestarts) return 'fail';
  return { restartInMs: FIRST_BACKOFF_MS * 2 ** (failures - 1) };
}

const FIRST_PUSH_BACKOFF_MS = 1_000;
const MAX_PUSH_BACKOFF_MS = 30_000;

/** An RTMP push refused or dropped, its `failures`-th time in a row: tried again after 1 s, 2, 4… up to 30 s, or failed. */
export function afterPushFailure(failures: number, maxRetries: number): { retryInMs: number } | 'fail' {
  if (failures > maxRetries) return 'fail';
  return { retryInMs: Math.min(MAX_PUSH_BACKOFF_MS, FIRST_PUSH_BACKOFF_MS * 2 ** (failures - 1)) };
}
