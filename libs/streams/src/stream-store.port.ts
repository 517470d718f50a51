import type { CloudEvent } from '@mesh/bus';
import type { StreamJob, StreamSpec } from '@mesh/contracts';
import type { StreamChange } from './stream-changes';

/** A stream as stored: the host's spec and the mix job's last report, if any. */
export interface StoredStream {
  readonly spec: StreamSpec;
  readonly job: StreamJob | null;
}

/** How many streams may be live (asked to be on air) at once: per host, and in all. */
export interface LiveRoomLimits {
  readonly perHost: number;
  readonly total: number;
}

/** What the live rooms ask of the mix replicas: the rooms asked to be on air, and their co-hosts (inputs) in all. */
export interface LiveLoad {
  readonly rooms: number;
  readonly inputs: number;
}

/** A change would take a stream live past a limit; nothing was written. */
export class LiveRoomLimitReached extends Error {
  constructor(
    readonly scope: 'host' | 'total',
    readonly limit: number,
  ) {
    super(`live-room limit reached (${scope}: ${limit})`);
    this.name = 'LiveRoomLimitReached';
  }
}

/**
 * Live-room state for reads. The gateway is the only writer of specs, one
 * compare-and-set per change; the mix function is the only writer of job reports.
 * The two never overwrite each other.
 */
export abstract class StreamStore {
  abstract stream(id: string): Promise<StoredStream | null>;

  /**
   * Writes `change.after` if the stored spec is still `change.before` (by revision;
   * absent for a new stream), and `event` (the stream-mix request announcing it) to
   * the outbox in the same atomic step. False, and nothing written, when someone
   * else changed it first. With `limits`, a change that takes the stream live
   * while its host (or everyone) already has that many live throws
   * LiveRoomLimitReached, checked in the same atomic step.
   */
  abstract commit(change: StreamChange, event?: CloudEvent, limits?: LiveRoomLimits): Promise<boolean>;

  /**
   * Records the job's report if it belongs to the stream's current run (its
   * `startRevision`); false, and nothing written, for a report from an older run.
   */
  abstract recordJob(streamId: string, job: StreamJob): Promise<boolean>;

  /**
   * Writes each spec (from the latest stream-mix request on the log, when Redis
   * came back empty) unless the store holds that revision or a newer one; answers
   * how many were written. Job reports are the mixers' to send again.
   */
  abstract restore(specs: readonly StreamSpec[]): Promise<number>;

  /** The live rooms and their inputs now: what the mix replicas are scaled on. */
  abstract liveLoad(): Promise<LiveLoad>;

  /** Newest first, up to `limit` (the dispatchers' list of live rooms). */
  abstract list(limit: number): Promise<StoredStream[]>;

  /**
   * Names this run of the server holding the rooms' state: it changes when that
   * server restarts or a replica takes over (and may have come back with less).
   */
  abstract incarnation(): Promise<string>;
}
