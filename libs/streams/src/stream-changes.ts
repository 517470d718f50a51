import type { ChangeLayout, SetParticipant, StreamChangeType, StreamJob, StreamSpec } from '@mesh/contracts';
import { problems } from '@mesh/problem';

/** One change of a stream: the request it becomes on Kafka and the spec after it. */
export interface StreamChange {
  readonly type: StreamChangeType;
  readonly before: StreamSpec | null;
  readonly after: StreamSpec;
}

/**
 * Every change a host can make, as pure functions of the stream as it is. Each
 * returns the next spec at revision + 1, `null` when there is nothing to do (a
 * repeated start or stop), or throws the problem API.md names.
 */

export function createStream(input: {
  id: string;
  hostId: string;
  title: string;
  rtmpUrl: string | null;
  /** An adaptive ladder of renditions (default: one). */
  ladder?: boolean;
  now: Date;
}): StreamChange {
  const at = input.now.toISOString();
  return {
    type: 'stream.created',
    before: null,
    after: {
      id: input.id,
      hostId: input.hostId,
      title: input.title,
      revision: 1,
      layout: 'grid',
      focus: null,
      participants: [],
      output: { rtmpUrl: input.rtmpUrl, ladder: input.ladder ?? false },
      desired: 'idle',
      startRevision: null,
      createdAt: at,
      updatedAt: at,
    },
  };
}

export function setParticipant(
  stream: StreamSpec,
  userId: string,
  input: SetParticipant,
  maxInputs: number,
  now: Date,
): StreamChange {
  const participant = { userId, inputUrl: input.inputUrl, volume: input.volume, muted: input.muted };
  const existing = stream.participants.findIndex((p) => p.userId === userId);
  if (existing === -1 && stream.participants.length >= maxInputs) {
    throw problems.conflict(`A stream mixes at most ${maxInputs} participants; remove one first.`);
  }
  const participants =
    existing === -1
      ? [...stream.participants, participant]
      : stream.participants.map((p, i) => (i === existing ? participant : p));
  return next(stream, 'stream.participant_set', { participants }, now);
}

export function removeParticipant(stream: StreamSpec, userId: string, now: Date): StreamChange {
  if (!stream.participants.some((p) => p.userId === userId)) {
    throw problems.notFound(`${userId} is not a participant of stream ${stream.id}.`);
  }
  const participants = stream.participants.filter((p) => p.userId !== userId);
  if (participants.length === 0 && stream.desired === 'live') {
    throw problems.conflict('A live stream needs at least one participant; stop it first.');
  }
  const focus = stream.focus === userId ? null : stream.focus;
  return next(stream, 'stream.participant_removed', { participants, focus }, now);
}

export function changeLayout(stream: StreamSpec, input: ChangeLayout, now: Date): StreamChange {
  const focus = input.focus === undefined ? stream.focus : input.focus;
  if (focus !== null && !stream.participants.some((p) => p.userId === focus)) {
    throw problems.invalid('The focus must be a participant of the stream.', [
      { path: 'body.focus', message: `${focus} is not a participant` },
    ]);
  }
  return next(stream, 'stream.layout_changed', { layout: input.layout, focus }, now);
}

/** Goes live; again after a failure or a stop (a new run). Starting a stream that is running is a no-op. */
export function startStream(stream: StreamSpec, job: StreamJob | null, now: Date): StreamChange | null {
  if (stream.participants.length === 0) {
    throw problems.conflict('Add at least one participant before starting the stream.');
  }
  const running =
    stream.desired === 'live' && !(job?.startRevision === stream.startRevision && job.status === 'failed');
  if (running) return null;
  return next(stream, 'stream.start_requested', { desired: 'live', startRevision: stream.revision + 1 }, now);
}

/** Stops the mix; stopping a stopped stream is a no-op, one never started is a conflict. */
export function stopStream(stream: StreamSpec, now: Date): StreamChange | null {
  if (stream.desired === 'idle') throw problems.conflict('The stream has not been started.');
  if (stream.desired === 'stopped') return null;
  return next(stream, 'stream.stop_requested', { desired: 'stopped' }, now);
}

function next(stream: StreamSpec, type: StreamChangeType, patch: Partial<StreamSpec>, now: Date): StreamChange {
  return {
    type,
    before: stream,
    after: { ...stream, ...patch, revision: stream.revision + 1, updatedAt: now.toISOString() },
  };
}
