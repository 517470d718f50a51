import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import {
  ChangeLayout,
  CreateStream,
  PlaybackRequest,
  PlaybackView,
  SetParticipant,
  StreamList,
  StreamListQuery,
  StreamView,
  UserId,
  type Principal,
} from '@mesh/contracts';
import { parseOrThrow } from '@mesh/problem';
import type { Response } from 'express';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Operation, type OperationDoc } from '../docs/operation';
import { ZodPipe } from '../http/zod.pipe';
import { StreamsService } from './streams.service';

const STREAM_ID = { id: 'The stream id' };
const PARTICIPANT = {
  ...STREAM_ID,
  userId: { description: 'The participant (a user id, the JWT `sub`)', schema: UserId },
};
const STREAM_PROBLEMS = {
  403: 'Not a host, or a host who may see the stream but is not its host',
  404: 'No such stream, or not one the caller may see',
};
const MIX_REQUEST =
  'Answers 202 with the stream at its new `revision` once the stream-mix request is on Kafka; the mix function applies it (only the latest revision) and pushes `stream.updated` to `stream:{id}` and the host.';

/** A host's change of a live room: 202 with the stream at its new revision, or the problems every change can meet. */
const change = (
  id: string,
  summary: string,
  conflicts = 'The stream’s state does not allow this',
  more: Partial<OperationDoc> = {},
): OperationDoc => ({
  id,
  tag: 'streams',
  summary,
  description: MIX_REQUEST,
  params: STREAM_ID,
  ok: { description: 'The stream, as the host will see it', schema: StreamView },
  ...more,
  problems: { ...STREAM_PROBLEMS, 409: conflicts, ...more.problems },
});

/** Live rooms (API.md "Streams"): the host drives them; participants and dispatchers may look. */
@Controller('v1/streams')
export class StreamsController {
  constructor(private readonly streams: StreamsService) {}

  @Post()
  @Roles('host')
  @HttpCode(201)
  @Operation({
    id: 'createStream',
    tag: 'streams',
    summary: 'Open a live room (hosts)',
    description:
      'The room starts `idle` with no participants; the host usually adds itself first. `output.rtmpUrl` (rtmp/rtmps on a host in MIX_OUTPUT_HOSTS) also pushes the mix to a CDN ingest. The mixed HLS is served at `output.hlsUrl` (a signed `/live/{id}/{token}/index.m3u8` path on the gateway) once started.',
    ok: {
      description: 'The new stream',
      schema: StreamView,
      headers: { Location: { description: '/v1/streams/{id}', schema: { type: 'string' } } },
    },
  })
  async create(
    @CurrentPrincipal() me: Principal,
    @Body(new ZodPipe(CreateStream)) body: CreateStream,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamView> {
    const stream = await this.streams.create(me, body);
    res.location(`/v1/streams/${stream.id}`);
    return stream;
  }

  @Get()
  @Roles('dispatcher')
  @Operation({
    id: 'listStreams',
    tag: 'streams',
    summary: 'The newest live rooms, URLs masked (dispatchers)',
    ok: { description: 'Rooms, newest first', schema: StreamList },
  })
  list(@Query(new ZodPipe(StreamListQuery, 'query')) query: StreamListQuery): Promise<StreamList> {
    return this.streams.list(query.limit);
  }

  @Get(':id')
  @Operation({
    id: 'getStream',
    tag: 'streams',
    summary: 'A live room (its host, its participants, dispatchers)',
    description:
      'Input and RTMP URLs are shown whole to the host only; everyone else sees them masked to `scheme://host/…` (paths and queries carry stream keys).',
    params: STREAM_ID,
    ok: { description: 'The stream', schema: StreamView },
    problems: { 404: STREAM_PROBLEMS[404] },
  })
  get(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<StreamView> {
    return this.streams.get(me, id);
  }

  @Put(':id/participants/:userId')
  @Roles('host')
  @HttpCode(202)
  @Operation(
    change(
      'setParticipant',
      'Add a co-host or change one (volume 0..2, muted)',
      'Already MIX_MAX_INPUTS participants',
      {
        params: PARTICIPANT,
        description: `${MIX_REQUEST} \`inputUrl\` is rtmp, rtmps, srt, http or https on a host matching MIX_INPUT_HOSTS, or \`test:color=<name>\` / \`test:pattern\` when MIX_TEST_SOURCES=1; anything else (file:, concat:, lavfi graphs, other hosts, credentials in the URL) is a 400.`,
      },
    ),
  )
  setParticipant(
    @CurrentPrincipal() me: Principal,
    @Param('id') id: string,
    @Param('userId') userId: string,
    @Body(new ZodPipe(SetParticipant)) body: SetParticipant,
  ): Promise<StreamView> {
    return this.streams.setParticipant(me, id, parseOrThrow(UserId, userId, 'path.userId'), body);
  }

  @Delete(':id/participants/:userId')
  @Roles('host')
  @HttpCode(202)
  @Operation(
    change('removeParticipant', 'Remove a participant', 'The last participant of a live stream', {
      params: PARTICIPANT,
    }),
  )
  removeParticipant(
    @CurrentPrincipal() me: Principal,
    @Param('id') id: string,
    @Param('userId') userId: string,
  ): Promise<StreamView> {
    return this.streams.removeParticipant(me, id, parseOrThrow(UserId, userId, 'path.userId'));
  }

  @Put(':id/layout')
  @Roles('host')
  @HttpCode(202)
  @Operation(change('changeLayout', 'Choose the layout (grid, speaker, pip) and its focus'))
  changeLayout(
    @CurrentPrincipal() me: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(ChangeLayout)) body: ChangeLayout,
  ): Promise<StreamView> {
    return this.streams.changeLayout(me, id, body);
  }

  @Post(':id/start')
  @Roles('host')
  @HttpCode(202)
  @Operation(
    change(
      'startStream',
      'Go live (again after a failure or a stop); a no-op while running',
      'No participants yet, or the host already has MIX_MAX_ROOMS_PER_HOST rooms live',
      { problems: { 503: 'Every live room of the deployment (MIX_MAX_ROOMS) is in use, or a dependency is down' } },
    ),
  )
  start(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<StreamView> {
    return this.streams.start(me, id);
  }

  @Post(':id/playback')
  @Roles('host')
  @HttpCode(201)
  @Operation({
    id: 'createPlaybackUrl',
    tag: 'streams',
    summary: 'A signed playback URL of the mixed HLS, to share with an audience (its host)',
    description:
      'Anyone holding the URL can play until `expiresAt` (PLAYBACK_TTL_S, 6 h by default; `ttlS` may ask for less). Segment URIs in the playlist are relative, so they carry the token too. `/live` answers 404 without a valid token.',
    params: STREAM_ID,
    body: { schema: PlaybackRequest, required: false },
    ok: { description: 'A playback URL', schema: PlaybackView },
    problems: STREAM_PROBLEMS,
  })
  playback(@CurrentPrincipal() me: Principal, @Param('id') id: string, @Body() body: unknown): Promise<PlaybackView> {
    const { ttlS } = parseOrThrow(PlaybackRequest, body ?? {}, 'body');
    return this.streams.playbackUrl(me, id, ttlS);
  }

  @Post(':id/stop')
  @Roles('host')
  @HttpCode(202)
  @Operation(change('stopStream', 'Stop the mix; a no-op when stopped', 'Never started'))
  stop(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<StreamView> {
    return this.streams.stop(me, id);
  }
}
