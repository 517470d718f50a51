import type { StreamJob, StreamSpec } from '@mesh/contracts';
import { ProblemError } from '@mesh/problem';
import {
  changeLayout,
  createStream,
  removeParticipant,
  setParticipant,
  startStream,
  stopStream,
  type StreamChange,
} from './stream-changes';
import { randomBytes } from 'node:crypto';
import { PlaybackSigner } from './playback';
import { MIX_FAILED, streamStatus, streamView } from './stream-view';

const now = new Date('2026-11-22T12:00:00Z');
const later = new Date('2026-11-22T12:00:05Z');
const input = (inputUrl: string) => ({ inputUrl, volume: 1, muted: false });

function withParticipants(n: number): StreamSpec {
  let spec = createStream({ id: 'S1', hostId: 'host-1', title: 'room', rtmpUrl: null, now }).after;
  for (let i = 0; i < n; i++)
    spec = setParticipant(spec, `u${i}`, input(`rtmp://cams.example.com/live/key-${i}`), 9, now).after;
  return spec;
}
const problem = (work: () => unknown) => {
  try {
    work();
  } catch (err) {
    if (err instanceof ProblemError) return { status: err.status, detail: err.message };
    throw err;
  }
  throw new Error('no problem thrown');
};
const job = (spec: StreamSpec, status: StreamJob['status']): StreamJob => ({
  startRevision: spec.startRevision ?? 0,
  revision: spec.revision,
  status,
  error: status === 'failed' ? 'the input of u0 failed: Connection refused' : null,
  push: null,
  at: later.toISOString(),
});

describe('stream changes', () => {
  it('a new stream is idle at revision 1 with no participants; every change is the next revision', () => {
    const created = createStream({ id: 'S1', hostId: 'h', title: 't', rtmpUrl: null, now }).after;
    expect(created).toMatchObject({ revision: 1, desired: 'idle', participants: [], layout: 'grid', focus: null });
    const joined = setParticipant(created, 'a', input('test:pattern'), 9, later);
    expect(joined).toMatchObject({
      type: 'stream.participant_set',
      after: { revision: 2, updatedAt: later.toISOString() },
    });
    const changed = setParticipant(joined.after, 'a', { inputUrl: 'test:pattern', volume: 0.5, muted: true }, 9, later);
    expect(changed.after.participants).toEqual([{ userId: 'a', inputUrl: 'test:pattern', volume: 0.5, muted: true }]);
  });

  it('refuses a participant beyond the limit with a 409, but lets an existing one change', () => {
    const full = withParticipants(3);
    expect(problem(() => setParticipant(full, 'u9', input('test:pattern'), 3, now))).toMatchObject({ status: 409 });
    expect(setParticipant(full, 'u1', input('test:pattern'), 3, now).after.participants).toHaveLength(3);
  });

  it('removing the focus clears it; removing a stranger is a 404; a live stream keeps at least one', () => {
    const focused = changeLayout(withParticipants(2), { layout: 'speaker', focus: 'u1' }, now).after;
    expect(removeParticipant(focused, 'u1', now).after).toMatchObject({
      focus: null,
      participants: [{ userId: 'u0' }],
    });
    expect(problem(() => removeParticipant(focused, 'nobody', now))).toMatchObject({ status: 404 });
    const live = (startStream(withParticipants(1), null, now) as StreamChange).after;
    expect(problem(() => removeParticipant(live, 'u0', now))).toMatchObject({ status: 409 });
  });

  it('a focus must be a participant (400 naming the field); an omitted focus keeps the current one', () => {
    const spec = withParticipants(2);
    expect(problem(() => changeLayout(spec, { layout: 'pip', focus: 'nobody' }, now))).toMatchObject({ status: 400 });
    const focused = changeLayout(spec, { layout: 'pip', focus: 'u1' }, now).after;
    expect(changeLayout(focused, { layout: 'grid' }, now).after.focus).toBe('u1');
    expect(changeLayout(focused, { layout: 'grid', focus: null }, now).after.focus).toBeNull();
  });

  it('start needs a participant, begins a run, is a no-op while running, and starts a new run after a failure', () => {
    expect(problem(() => startStream(withParticipants(0), null, now))).toMatchObject({ status: 409 });
    const started = startStream(withParticipants(1), null, now) as StreamChange;
    expect(started.after).toMatchObject({ desired: 'live', startRevision: started.after.revision });
    expect(startStream(started.after, job(started.after, 'live'), now)).toBeNull();
    const again = startStream(started.after, job(started.after, 'failed'), later) as StreamChange;
    expect(again.after.startRevision).toBe(started.after.revision + 1);
  });

  it('stop is a conflict before any start and a no-op when already stopped', () => {
    expect(problem(() => stopStream(withParticipants(1), now))).toMatchObject({ status: 409 });
    const started = (startStream(withParticipants(1), null, now) as StreamChange).after;
    const stopped = (stopStream(started, now) as StreamChange).after;
    expect(stopped.desired).toBe('stopped');
    expect(stopStream(stopped, now)).toBeNull();
  });
});

describe('the stream view', () => {
  const playback = new PlaybackSigner(randomBytes(32), 3_600);

  it('shows starting until the job of this run reports, then what it reports', () => {
    const started = (startStream(withParticipants(1), null, now) as StreamChange).after;
    expect(streamStatus(started, null)).toBe('starting');
    expect(streamStatus(started, { ...job(started, 'live'), startRevision: started.revision - 1 })).toBe('starting');
    expect(streamStatus(started, job(started, 'live'))).toBe('live');
    const failed = streamView(started, job(started, 'failed'), true, playback);
    expect(failed).toMatchObject({ status: 'failed', error: 'the input of u0 failed: Connection refused' });
    expect(failed.updatedAt).toBe(later.toISOString());
    // ffmpeg's words (hosts, addresses) are the host's only.
    expect(streamView(started, job(started, 'failed'), false, playback).error).toBe(MIX_FAILED);
    // A started stream's HLS is a signed URL that plays this stream.
    const url = failed.output.hlsUrl ?? '';
    expect(playback.verify(started.id, url.split('/')[3] ?? '')).toBe(true);
    expect(streamStatus((stopStream(started, now) as StreamChange).after, job(started, 'live'))).toBe('stopped');
  });

  it('shows input and RTMP URLs whole to the host only', () => {
    const spec = { ...withParticipants(1), output: { rtmpUrl: 'rtmp://ingest.example.com/app/secret', ladder: false } };
    const host = streamView(spec, null, true, playback);
    const other = streamView(spec, null, false, playback);
    expect(host.participants[0]?.inputUrl).toBe('rtmp://cams.example.com/live/key-0');
    expect(host.output.rtmpUrl).toBe('rtmp://ingest.example.com/app/secret');
    expect(other.participants[0]?.inputUrl).toBe('rtmp://cams.example.com/…');
    expect(other.output.rtmpUrl).toBe('rtmp://ingest.example.com/…');
    expect(JSON.stringify(other)).not.toContain('secret');
    expect(JSON.stringify(other)).not.toContain('key-0');
  });
});
