import { Injectable } from '@nestjs/common';
import { newEvent, type CloudEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import {
  newId,
  rooms,
  type ChangeLayout,
  type CreateStream,
  type PlaybackView,
  type Principal,
  type SetParticipant,
  type StreamList,
  type StreamView,
} from '@mesh/contracts';
import { OutboxHandoff } from '@mesh/outbox';
import { STREAMS_TAG } from '@mesh/redis';
import { ClientPush } from '@mesh/realtime';
import { problems } from '@mesh/problem';
import {
  LiveRoomLimitReached,
  PlaybackSigner,
  StreamStore,
  addressListed,
  resolvePublic,
  changeLayout,
  checkInputUrl,
  checkOutputUrl,
  createStream,
  maySeeStream,
  removeParticipant,
  setParticipant,
  startStream,
  stopStream,
  streamView,
  type MediaPolicy,
  type StoredStream,
  type StreamChange,
} from '@mesh/streams';

const SOURCE = '/gateway/streams';
/** Attempts at a change whose stream moved underneath it, before the host is told of the conflict. */
const COMMIT_ATTEMPTS = 5;

/**
 * Live rooms as their host drives them. Every change is one compare-and-set of
 * the stream's spec (so two quick changes get two revisions, never a lost one),
 * then a stream-mix request on Kafka keyed by the stream, which the mix function applies.
 */
@Injectable()
export class StreamsService {
  private readonly policy: MediaPolicy;

  constructor(
    private readonly store: StreamStore,
    private readonly playback: PlaybackSigner,
    private readonly handoff: OutboxHandoff,
    private readonly push: ClientPush,
    private readonly config: AppConfig,
  ) {
    this.policy = {
      inputHosts: config.mix.inputHosts,
      outputHosts: config.mix.outputHosts,
      testSources: config.mix.testSources,
      srtOptions: config.mix.srtOptions,
    };
  }

  async create(host: Principal, body: CreateStream): Promise<StreamView> {
    let rtmpUrl: string | null = null;
    if (body.output?.rtmpUrl !== undefined) {
      const checked = checkOutputUrl(body.output.rtmpUrl, this.policy);
      if (!checked.ok) throw invalidUrl('body.output.rtmpUrl', checked.reason);
      await this.requirePublic(checked.value, this.policy.outputHosts, 'body.output.rtmpUrl');
      rtmpUrl = checked.value;
    }
    const change = createStream({
      id: newId(),
      hostId: host.sub,
      title: body.title,
      rtmpUrl,
      ladder: body.output?.ladder ?? false,
      now: new Date(),
    });
    const request = mixRequest(change);
    if (!(await this.store.commit(change, request))) {
      throw problems.conflict('The stream could not be created; retry.');
    }
    await this.handoff.settle(STREAMS_TAG, 'streams', request);
    return streamView(change.after, null, true, this.playback);
  }

  async get(who: Principal, streamId: string): Promise<StreamView> {
    const stored = await this.visible(who, streamId);
    return streamView(stored.spec, stored.job, stored.spec.hostId === who.sub, this.playback);
  }

  /** The newest rooms, URLs masked (dispatchers). */
  async list(limit: number): Promise<StreamList> {
    return {
      items: (await this.store.list(limit)).map(({ spec, job }) => streamView(spec, job, false, this.playback)),
    };
  }

  /** A signed playback URL to share with an audience (its host only). */
  async playbackUrl(host: Principal, streamId: string, ttlS?: number): Promise<PlaybackView> {
    const { spec } = await this.visible(host, streamId);
    if (spec.hostId !== host.sub) throw problems.forbidden('Only the stream’s host may share its playback.');
    return this.playback.grant(spec.id, ttlS);
  }

  /** 404 unless the stream exists and the caller may see it. */
  async visible(who: Principal, streamId: string): Promise<StoredStream> {
    const stored = await this.store.stream(streamId);
    if (!stored || !maySeeStream(who, stored.spec)) throw problems.notFound(`There is no stream ${streamId}.`);
    return stored;
  }

  async setParticipant(host: Principal, streamId: string, userId: string, body: SetParticipant): Promise<StreamView> {
    const checked = checkInputUrl(body.inputUrl, this.policy);
    if (!checked.ok) throw invalidUrl('body.inputUrl', checked.reason);
    let inputUrl = body.inputUrl;
    if (checked.value.kind === 'network') {
      await this.requirePublic(checked.value.url, this.policy.inputHosts, 'body.inputUrl');
      inputUrl = checked.value.url;
    }
    return this.change(host, streamId, ({ spec }) =>
      setParticipant(spec, userId, { ...body, inputUrl }, this.config.mix.maxInputs, new Date()),
    );
  }

  /** Commits within the live-room limits: 409 past the host's, 503 past everyone's. */
  private async committed(change: StreamChange, request: CloudEvent): Promise<boolean> {
    try {
      return await this.store.commit(change, request, this.config.mix.maxRooms);
    } catch (err) {
      if (!(err instanceof LiveRoomLimitReached)) throw err;
      if (err.scope === 'host') {
        throw problems.conflict(`You have ${err.limit} live rooms already (MIX_MAX_ROOMS_PER_HOST); stop one first.`);
      }
      throw problems.dependencyDown(`All ${err.limit} live rooms of this deployment are in use; retry later.`);
    }
  }

  /**
   * 400 when the URL's host resolves to an address that is not public (and not
   * listed by the operator). The mix checks again, and pins the address, when it
   * connects: this early check only tells the host at once.
   */
  private async requirePublic(url: string, patterns: readonly string[], path: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const found = await resolvePublic(host, (address) => addressListed(address, patterns));
    if (!found.ok) throw invalidUrl(path, found.reason);
  }

  async removeParticipant(host: Principal, streamId: string, userId: string): Promise<StreamView> {
    const view = await this.change(host, streamId, ({ spec }) => removeParticipant(spec, userId, new Date()));
    // Their access ends with their place in the room: their sockets stop watching it, on every gateway.
    if (view.hostId !== userId) this.push.leave(rooms.user(userId), rooms.stream(streamId));
    return view;
  }

  changeLayout(host: Principal, streamId: string, body: ChangeLayout): Promise<StreamView> {
    return this.change(host, streamId, ({ spec }) => changeLayout(spec, body, new Date()));
  }

  start(host: Principal, streamId: string): Promise<StreamView> {
    return this.change(host, streamId, ({ spec, job }) => startStream(spec, job, new Date()));
  }

  stop(host: Principal, streamId: string): Promise<StreamView> {
    return this.change(host, streamId, ({ spec }) => stopStream(spec, new Date()));
  }

  /**
   * Applies a host's change: 404 for those who may not see the stream, 403 for
   * those who may see it but are not its host. `build` returns null when there is
   * nothing to do (the stream is answered as it is).
   */
  private async change(
    who: Principal,
    streamId: string,
    build: (stored: StoredStream) => StreamChange | null,
  ): Promise<StreamView> {
    for (let attempt = 1; attempt <= COMMIT_ATTEMPTS; attempt++) {
      const stored = await this.visible(who, streamId);
      if (stored.spec.hostId !== who.sub || !who.roles.includes('host')) {
        throw problems.forbidden('Only the stream’s host may change it.');
      }
      const change = build(stored);
      if (!change) return streamView(stored.spec, stored.job, true, this.playback);
      // The change and its stream-mix request commit together; the outbox relay puts the request on Kafka.
      const request = mixRequest(change);
      if (await this.committed(change, request)) {
        await this.handoff.settle(STREAMS_TAG, 'streams', request);
        return streamView(change.after, stored.job, true, this.playback);
      }
    }
    throw problems.conflict('The stream kept changing while this was applied; try again.');
  }
}

/** The stream-mix request announcing a change: the whole spec at its new revision, keyed by the stream. */
function mixRequest(change: StreamChange): CloudEvent {
  const { after } = change;
  return newEvent(change.type, { stream: after }, { source: SOURCE, key: after.id, subject: after.id });
}

function invalidUrl(path: string, reason: string) {
  return problems.invalid('The URL is not allowed.', [{ path, message: reason }]);
}
