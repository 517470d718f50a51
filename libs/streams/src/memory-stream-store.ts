import type { CloudEvent } from '@mesh/bus';
import type { StreamJob, StreamSpec } from '@mesh/contracts';
import type { MemoryOutbox } from '@mesh/outbox';
import { STREAMS_TAG } from '@mesh/redis';
import type { StreamChange } from './stream-changes';
import {
  LiveRoomLimitReached,
  StreamStore,
  type LiveLoad,
  type LiveRoomLimits,
  type StoredStream,
} from './stream-store.port';

/** Streams in process memory, for the embedded default and small tests; each write is atomic on the event loop. */
export class MemoryStreamStore extends StreamStore {
  private readonly streams = new Map<string, StoredStream>();

  constructor(private readonly outbox: MemoryOutbox) {
    super();
  }

  stream(id: string): Promise<StoredStream | null> {
    const found = this.streams.get(id);
    return Promise.resolve(found ? structuredClone(found) : null);
  }

  commit(change: StreamChange, event?: CloudEvent, limits?: LiveRoomLimits): Promise<boolean> {
    const stored = this.streams.get(change.after.id);
    if ((stored?.spec.revision ?? null) !== (change.before?.revision ?? null)) return Promise.resolve(false);
    if (limits && change.after.desired === 'live' && stored?.spec.desired !== 'live') {
      const live = [...this.streams.values()].filter((s) => s.spec.desired === 'live');
      if (live.filter((s) => s.spec.hostId === change.after.hostId).length >= limits.perHost) {
        return Promise.reject(new LiveRoomLimitReached('host', limits.perHost));
      }
      if (live.length >= limits.total) return Promise.reject(new LiveRoomLimitReached('total', limits.total));
    }
    this.streams.set(change.after.id, { spec: structuredClone(change.after), job: stored?.job ?? null });
    if (event) this.outbox.appendNow(STREAMS_TAG, 'streams', event);
    return Promise.resolve(true);
  }

  liveLoad(): Promise<LiveLoad> {
    const live = [...this.streams.values()].filter((s) => s.spec.desired === 'live');
    return Promise.resolve({ rooms: live.length, inputs: live.reduce((n, s) => n + s.spec.participants.length, 0) });
  }

  /** In memory the rooms live and die with the process: one incarnation. */
  incarnation(): Promise<string> {
    return Promise.resolve('memory');
  }

  restore(specs: readonly StreamSpec[]): Promise<number> {
    let written = 0;
    for (const spec of specs) {
      const stored = this.streams.get(spec.id);
      if (stored && stored.spec.revision >= spec.revision) continue;
      this.streams.set(spec.id, { spec: structuredClone(spec), job: stored?.job ?? null });
      written++;
    }
    return Promise.resolve(written);
  }

  recordJob(streamId: string, job: StreamJob): Promise<boolean> {
    const stored = this.streams.get(streamId);
    if (!stored || stored.spec.startRevision !== job.startRevision) return Promise.resolve(false);
    this.streams.set(streamId, { spec: stored.spec, job: structuredClone(job) });
    return Promise.resolve(true);
  }

  list(limit: number): Promise<StoredStream[]> {
    const ids = [...this.streams.keys()].sort().reverse().slice(0, limit);
    return Promise.all(ids.map((id) => this.stream(id))).then((rows) =>
      rows.filter((row): row is StoredStream => row !== null),
    );
  }
}
