import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { rooms, type PushState, type StreamChangeType, type StreamSpec } from '@mesh/contracts';
import { ClientPush } from '@mesh/realtime';
import { PlaybackSigner, RoomLeases, StreamStore, streamStatus, streamView } from '@mesh/streams';
import { LOGGER, type Logger } from '@mesh/telemetry';
import type { MeshFunction } from '../host/mesh-function';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { MixJobs, type JobStatus } from './mix-jobs';

/** The most streams looked at when resuming; newest first. */
const RESUME_LIMIT = 1_000;
/**
 * A room's lease lasts as long as the group's session timeout and is renewed four times as often: a dead
 * replica's rooms are free about when the group gives their partitions to another.
 */
const LEASE_TTL_MS = 2_500;
const RENEW_EVERY_MS = 500;

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
export class MixFunction implements MeshFunction<(typeof STREAM_CHANGES)[number]>, OnApplicationShutdown {
  readonly name = 'mix';
  readonly topic = 'streams';
  readonly accepts = STREAM_CHANGES;
  readonly idempotency = 'natural';
  /** The partition assignments being taken up, one after another. */
  private assignments: Promise<void> = Promise.resolve();
  /** Who this replica is to the rooms' leases. */
  private readonly owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Live rooms this replica should mix whose lease another still holds (it is letting them go): tried every renewal. */
  private readonly waiting = new Set<string>();
  private renewer: NodeJS.Timeout | null = null;
  /** A renewal under way (one at a time: a slow one is not piled on). */
  private renewing: Promise<void> | null = null;
  /** Whether a room's partition is this replica's, as of the group's latest assignment. */
  private owns: (key: string) => boolean = () => false;

  constructor(
    private readonly jobs: MixJobs,
    private readonly store: StreamStore,
    private readonly push: ClientPush,
    private readonly playback: PlaybackSigner,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly leases: RoomLeases,
  ) {
    jobs.onReport((spec, status, error, push) => void this.record(spec, status, error, push));
  }

  async handle(event: MeshEvent<(typeof STREAM_CHANGES)[number]>): Promise<void> {
    const requested = event.data.stream;
    const stored = await this.store.stream(requested.id);
    const latest = stored && stored.spec.revision > requested.revision ? stored.spec : requested;
    if (latest.desired === 'live') return this.mixHere(latest);
    this.waiting.delete(latest.id);
    if (await this.jobs.apply(latest)) await this.announce(latest.id);
    await this.leases.release(latest.id, this.owner);
  }

  onHosted(): Promise<void> {
    // The first sweep comes one interval from now, after the streams this replica owns are its jobs again.
    this.jobs.startSweeping();
    this.renewer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, RENEW_EVERY_MS);
    return Promise.resolve();
  }

  /** Stops the mixes first, then gives their leases up, so that their next owners start at once. */
  async onApplicationShutdown(): Promise<void> {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = null;
    await this.renewing;
    const held = this.jobs.running();
    await this.jobs.onApplicationShutdown();
    await Promise.all(held.map((id) => this.leases.release(id, this.owner).catch(() => undefined)));
  }

  /** Mixes a live room here once this replica holds its lease; until then it waits its turn (see `renew`). */
  private async mixHere(spec: StreamSpec): Promise<void> {
    if (!(await this.leases.acquire(spec.id, this.owner, LEASE_TTL_MS))) {
      this.waiting.add(spec.id);
      return;
    }
    this.waiting.delete(spec.id);
    if (await this.jobs.apply(spec)) await this.announce(spec.id);
  }

  /**
   * Keeps the leases of the rooms mixed here; a room whose lease another took is let go at
   * once (never mixed twice), and, while its partition is still this replica's, waits to be
   * mixed here again once the other lets go. Rooms waiting for their lease get another try.
   */
  private async renew(): Promise<void> {
    try {
      const lost = await this.leases.renew(this.jobs.running(), this.owner, LEASE_TTL_MS);
      for (const id of lost) {
        this.logger.warn({ streamId: id }, 'another replica holds this room now; letting it go');
        await this.jobs.handOver(id);
        if (this.owns(id)) this.waiting.add(id);
      }
      for (const id of [...this.waiting]) {
        const stored = await this.store.stream(id);
        if (stored?.spec.desired === 'live') await this.mixHere(stored.spec);
        else this.waiting.delete(id);
      }
    } catch (err) {
      // Redis away: the leases run out meanwhile; the rooms are looked at again next time.
      this.logger.warn({ err }, 'room leases not renewed');
    }
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
    this.owns = owns;
    const letGo = this.jobs.running().filter((id) => !owns(id));
    // Stopped first, then the lease given up: the next owner never mixes a room this one still does.
    await Promise.all(
      letGo.map(async (id) => {
        await this.jobs.handOver(id);
        await this.leases.release(id, this.owner);
      }),
    );
    for (const id of [...this.waiting]) if (!owns(id)) this.waiting.delete(id);
    const streams = await this.store.list(RESUME_LIMIT);
    const resumable = streams.filter(
      ({ spec, job }) => owns(spec.id) && spec.desired === 'live' && streamStatus(spec, job) !== 'failed',
    );
    const before = this.jobs.running().length;
    for (const { spec } of resumable) await this.mixHere(spec);
    const taken = Math.max(0, this.jobs.running().length - before);
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
