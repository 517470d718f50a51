import type { StreamJob, StreamSpec, StreamStatus, StreamView } from '@mesh/contracts';
import { maskUrl } from './media-source';
import type { PlaybackSigner } from './playback';

/**
 * The status a viewer sees: the host's wish (idle, stopped) or, once it asked to
 * go live, what the mix job reports for that run; until the job has reported, `starting`.
 */
export function streamStatus(spec: StreamSpec, job: StreamJob | null): StreamStatus {
  if (spec.desired === 'idle') return 'idle';
  if (spec.desired === 'stopped') return 'stopped';
  return job && job.startRevision === spec.startRevision && job.status !== 'stopped' ? job.status : 'starting';
}

/** What a mix failure says to those who are not the host: ffmpeg's own words may name hosts, addresses and keys. */
export const MIX_FAILED = 'The mix failed; its host sees why.';

/**
 * The stream view of API.md, for its host, participants and dispatchers. Input
 * and RTMP URLs (which carry stream keys) and the mix's error are shown whole to
 * the host only; everyone else sees scheme and host. `output.hlsUrl` is a fresh
 * signed playback URL once the stream was started.
 */
export function streamView(
  spec: StreamSpec,
  job: StreamJob | null,
  forHost: boolean,
  playback: PlaybackSigner,
): StreamView {
  const status = streamStatus(spec, job);
  const current = job && job.startRevision === spec.startRevision ? job : null;
  const rtmpUrl = spec.output.rtmpUrl;
  const updatedAt = current && current.at > spec.updatedAt ? current.at : spec.updatedAt;
  return {
    id: spec.id,
    hostId: spec.hostId,
    title: spec.title,
    status,
    revision: spec.revision,
    layout: spec.layout,
    focus: spec.focus,
    participants: spec.participants.map((p) => (forHost ? { ...p } : { ...p, inputUrl: maskUrl(p.inputUrl) })),
    output: {
      hlsUrl: spec.startRevision === null ? null : playback.grant(spec.id).url,
      rtmpUrl: rtmpUrl === null ? null : forHost ? rtmpUrl : maskUrl(rtmpUrl),
      ladder: spec.output.ladder,
      push:
        rtmpUrl !== null && status !== 'idle' && status !== 'stopped' && current?.push
          ? { state: current.push.state, error: mixError(current.push.error, forHost) }
          : null,
    },
    error: status === 'failed' || status === 'restarting' ? mixError(current?.error ?? null, forHost) : null,
    createdAt: spec.createdAt,
    updatedAt,
  };
}

function mixError(error: string | null, forHost: boolean): string | null {
  return error === null || forHost ? error : MIX_FAILED;
}

/** Who may see a stream (API.md): its host, its participants, and dispatchers. */
export function maySeeStream(who: { sub: string; roles: readonly string[] }, spec: StreamSpec): boolean {
  return (
    who.roles.includes('dispatcher') || spec.hostId === who.sub || spec.participants.some((p) => p.userId === who.sub)
  );
}
