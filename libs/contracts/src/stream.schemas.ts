import { z } from 'zod';
import { queryNumber } from './query';

export const STREAM_STATUSES = ['idle', 'starting', 'live', 'restarting', 'failed', 'stopped'] as const;
export const StreamStatus = z.enum(STREAM_STATUSES);
export type StreamStatus = z.infer<typeof StreamStatus>;

export const STREAM_LAYOUTS = ['grid', 'speaker', 'pip'] as const;
export const StreamLayout = z.enum(STREAM_LAYOUTS);
export type StreamLayout = z.infer<typeof StreamLayout>;

/** User ids are JWT subjects: any short string. */
export const UserId = z.string().min(1).max(200);
/** Client-supplied URLs: bounded here, checked against the media policy (schemes, hosts) by the service. */
const ClientUrl = z.string().min(1).max(2_048);

/**
 * Where the mix goes besides HLS (`rtmpUrl`), and whether its HLS is an adaptive ladder
 * (`ladder`: renditions at the canvas and at 720p and 360p below it, under a master playlist).
 */
export const StreamOutputRequest = z.strictObject({ rtmpUrl: ClientUrl.optional(), ladder: z.boolean().optional() });

/** Body of `POST /v1/streams`. */
export const CreateStream = z.strictObject({
  title: z.string().trim().min(1).max(200),
  output: StreamOutputRequest.optional(),
});
export type CreateStream = z.infer<typeof CreateStream>;

/** Body of `PUT /v1/streams/{id}/participants/{userId}`. */
export const SetParticipant = z.strictObject({
  inputUrl: ClientUrl,
  volume: z.number().min(0).max(2).default(1),
  muted: z.boolean().default(false),
});
export type SetParticipant = z.infer<typeof SetParticipant>;

/** Body of `PUT /v1/streams/{id}/layout`. */
/** Body of `POST /v1/streams/{id}/playback` (optional): a lifetime shorter than the default (PLAYBACK_TTL_S). */
export const PlaybackRequest = z.strictObject({
  ttlS: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .optional(),
});
export type PlaybackRequest = z.infer<typeof PlaybackRequest>;

/** A signed playback URL (API.md "Playback"). */
export const PlaybackView = z.object({ url: z.string(), expiresAt: z.iso.datetime() });
export type PlaybackView = z.infer<typeof PlaybackView>;

export const ChangeLayout = z.strictObject({ layout: StreamLayout, focus: UserId.nullable().optional() });
export type ChangeLayout = z.infer<typeof ChangeLayout>;

export const Participant = z.object({
  userId: UserId,
  inputUrl: z.string(),
  volume: z.number().min(0).max(2),
  muted: z.boolean(),
});
export type Participant = z.infer<typeof Participant>;

/**
 * What the host asked for, as the gateway stores it and every stream-mix request
 * carries it: the whole desired composition at one `revision`. `desired` is the
 * host's last start/stop; `startRevision` names the run a start began, so a job
 * report from an earlier run is never taken for the current one.
 */
export const StreamSpec = z.object({
  id: z.string(),
  hostId: z.string(),
  title: z.string(),
  revision: z.number().int().min(1),
  layout: StreamLayout,
  focus: z.string().nullable(),
  participants: z.array(Participant),
  output: z.object({ rtmpUrl: z.string().nullable(), ladder: z.boolean().default(false) }),
  desired: z.enum(['idle', 'live', 'stopped']),
  startRevision: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type StreamSpec = z.infer<typeof StreamSpec>;

/**
 * The RTMP push of a live stream, apart from its HLS (which goes on whatever the push does):
 * `connecting` to the ingest, `connected`, `retrying` after the ingest refused or dropped it
 * (with its reason; tried again with backoff), `failed` once its retries are spent (MIX_PUSH_RETRIES).
 */
export const PushState = z.object({
  state: z.enum(['connecting', 'connected', 'retrying', 'failed']),
  error: z.string().nullable(),
});
export type PushState = z.infer<typeof PushState>;

/** What the mix function reports of its ffmpeg job for one run of a stream. */
export const StreamJob = z.object({
  startRevision: z.number().int(),
  /** The revision the running composition was built from. */
  revision: z.number().int(),
  status: z.enum(['starting', 'live', 'restarting', 'failed', 'stopped']),
  error: z.string().nullable(),
  /** The RTMP push's state, when the stream has one (reports from before it was kept have none). */
  push: PushState.nullable().default(null),
  at: z.string(),
});
export type StreamJob = z.infer<typeof StreamJob>;

/** The stream as every stream route returns it and `stream.updated` pushes it (API.md). */
export const StreamView = z.object({
  id: z.string(),
  hostId: z.string(),
  title: z.string(),
  status: StreamStatus,
  revision: z.number().int(),
  layout: StreamLayout,
  focus: z.string().nullable(),
  participants: z.array(Participant),
  output: z.object({
    hlsUrl: z.string().nullable(),
    rtmpUrl: z.string().nullable(),
    /** Whether `hlsUrl` is a master playlist of several renditions (an adaptive ladder). */
    ladder: z.boolean(),
    /** The RTMP push's state while the stream is on air with one; null otherwise. Its error is the host's only. */
    push: PushState.nullable(),
  }),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type StreamView = z.infer<typeof StreamView>;

const ClientId = z.string().min(1).max(64);
export const StreamRef = z.strictObject({ streamId: ClientId });
/** `stream.subscribe`: a stream, and optionally the last history offset seen in its room. */
export const StreamWatch = z.strictObject({
  streamId: ClientId,
  offset: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
});
export type StreamWatch = z.infer<typeof StreamWatch>;
export type StreamRef = z.infer<typeof StreamRef>;

export const MAX_STREAM_PAGE = 200;
/** `GET /v1/streams`: the newest rooms, for dispatchers. */
export const StreamListQuery = z.strictObject({
  limit: queryNumber(z.number().int().min(1).max(MAX_STREAM_PAGE)).default(50),
});
export type StreamListQuery = z.infer<typeof StreamListQuery>;
export const StreamList = z.object({ items: z.array(StreamView) });
export type StreamList = z.infer<typeof StreamList>;
