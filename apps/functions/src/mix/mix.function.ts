import { Inject, Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { rooms, type PushState, type StreamChangeType, type StreamSpec } from '@mesh/contracts';
import { ClientPush } from '@mesh/realtime';
import { PlaybackSigner, StreamStore, streamStatus, streamView } from '@mesh/streams';
import { LOGGER, type Logger } from '@mesh/telemetry';
import type { MeshFunction } from '../host/mesh-function';
import { MixJobs, type JobStatus } from './mix-jobs';

/** The most streams looked at when resuming; newest first. */
const RESUME_LIMIT = 1_000;

const STREAM_CHANGES = [
  'stream.created',
  'stream.participant_set',
  'stream.participant_removed',
  'stream.layout_changed',
  'stream.start_requested',
  'stream.stop_requested',
] as const satisfies readonly StreamChangeType[];

/**
 * The mix function: turns stream-mix requests into ffmpeg jobs. The stored spec
 * is the truth and requests are its revisions: a request older than what is
 * stored (or already mixed) changes nothing, so a late or redelivered request is
 * harmless. Every change and every job status is pushed as `stream.updated`.
 */
@Injectable()
export class MixFunction implements MeshFunction<(typeof STREAM_CHANGES)[number]> {
  readonly name = 'mix';
  readonly topic = 'streams';
  readonly accepts = STREAM_CHANGES;
  readonly idempotency = 'natural';
  /** The partition assignments being taken up, one after another. */
  private assignments: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobs: MixJobs,
    private readonly store: StreamStore,
    private readonly push: ClientPush,
    private readonly playback: PlaybackSigner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    jobs.onReport((spec, status, error, push) => void this.record(spec, status, error, push));
  }

  async handle(event: MeshEvent<(typeof STREAM_CHANGES)[number]>): Promise<void> {
    const requested = event.data.stream;
    const stored = await this.store.stream(requested.id);
    const latest = stored && stored.spec.revision > requested.revision ? stored.spec : requested;
    if (await this.jobs.apply(latest)) await this.announce(latest.id);
  }

  onHosted(): Promise<void> {
    // The first sweep comes one interval from now, after the streams this replica owns are its jobs again.
    this.jobs.startSweeping();
    return Promise.resolve();
  }

  /**
   * Each live stream is mixed by the replica that owns its key's partition of the
   * streams topic (its changes come only there). On joining, and whenever the group is
   * rebalanced (a replica started, stopped or died), this replica lets go of the streams
   * it no longer owns and picks up those it now owns that should be on air, so a room
   * whose replica died is live again on another without its host doing anything.
   * Assignments are taken up one after another, so the latest is what holds.
   */
  onAssigned(owns: (key: string) => boolean): Promise<void> {
    const next = this.assignments.then(() => this.takeUp(owns));
    this.assignments = next.catch(() => undefined);
    return next;
  }

  private async takeUp(owns: (key: string) => boolean): Promise<void> {
    const letGo = this.jobs.running().filter((id) => !owns(id));
    await Promise.all(letGo.map((id) => this.jobs.handOver(id)));
    const streams = await this.store.list(RESUME_LIMIT);
    const resumable = streams.filter(
      ({ spec, job }) => owns(spec.id) && spec.desired === 'live' && streamStatus(spec, job) !== 'failed',
    );
    let taken = 0;
    for (const { spec } of resumable) {
      if (await this.jobs.apply(spec)) {
        taken++;
        await this.announce(spec.id);
      }
    }
    if (taken + letGo.length > 0)
      this.logger.info({ taken, letGo: letGo.length }, 'took up the live streams owned here');
  }

  /** Keeps the job's report with the stream (if it is still that run) and tells the room. */
  private async record(
    spec: StreamSpec,
    status: JobStatus,
    error: string | null,
    push: PushState | null,
  ): Promise<void> {
    if (spec.startRevision === null) return;
    try {
      const job = {
        startRevision: spec.startRevision,
        revision: spec.revision,
        status,
        error,
        push,
        at: new Date().toISOString(),
      };
      if (await this.store.recordJob(spec.id, job)) await this.announce(spec.id);
    } catch (err) {
      this.logger.error({ err, streamId: spec.id, status }, 'mix status not recorded');
    }
  }

  /** `stream.updated` to the stream's room and the dispatchers (URLs masked) and, whole, to its host. */
  private async announce(streamId: string): Promise<void> {
    const stored = await this.store.stream(streamId);
    if (!stored) return;
    const host = rooms.user(stored.spec.hostId);
    const masked = streamView(stored.spec, stored.job, false, this.playback);
    await this.push.emit([rooms.stream(streamId), rooms.dispatchers], 'stream.updated', masked, host);
    await this.push.emit(host, 'stream.updated', streamView(stored.spec, stored.job, true, this.playback));
  }
}
