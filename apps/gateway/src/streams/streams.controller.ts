import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import {
  ChangeLayout,
  CreateStream,
  PlaybackRequest,
  SetParticipant,
  StreamListQuery,
  UserId,
  type PlaybackView,
  type Principal,
  type StreamList,
  type StreamView,
} from '@mesh/contracts';
import { parseOrThrow } from '@mesh/problem';
import type { Response } from 'express';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod.pipe';
import { StreamsService } from './streams.service';

/** Live rooms (API.md "Streams"): the host drives them; participants and dispatchers may look. */
@Controller('v1/streams')
export class StreamsController {
  constructor(private readonly streams: StreamsService) {}

  @Post()
  @Roles('host')
  @HttpCode(201)
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
  list(@Query(new ZodPipe(StreamListQuery, 'query')) query: StreamListQuery): Promise<StreamList> {
    return this.streams.list(query.limit);
  }

  @Get(':id')
  get(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<StreamView> {
    return this.streams.get(me, id);
  }

  @Put(':id/participants/:userId')
  @Roles('host')
  @HttpCode(202)
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
  start(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<StreamView> {
    return this.streams.start(me, id);
  }

  @Post(':id/playback')
  @Roles('host')
  @HttpCode(201)
  playback(@CurrentPrincipal() me: Principal, @Param('id') id: string, @Body() body: unknown): Promise<PlaybackView> {
    const { ttlS } = parseOrThrow(PlaybackRequest, body ?? {}, 'body');
    return this.streams.playbackUrl(me, id, ttlS);
  }

  @Post(':id/stop')
  @Roles('host')
  @HttpCode(202)
  stop(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<StreamView> {
    return this.streams.stop(me, id);
  }
}
