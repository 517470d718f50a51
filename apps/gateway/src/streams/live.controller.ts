import { Controller, Get, Param, Res } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { ResourceId } from '@mesh/contracts';
import { problems } from '@mesh/problem';
import { PlaybackSigner } from '@mesh/streams';
import type { Response } from 'express';
import { join } from 'node:path';
import { Public } from '../auth/auth.decorators';
import { sendProblem } from '../http/problem.filter';

/**
 * Only the public playlists (`index.m3u8`; with a ladder also each rendition's, `720p.m3u8`) and the
 * mix's own segment names; nothing else under the directory (the runs' own playlists) is ever served.
 */
const FILE = /^(index\.m3u8|\d{2,4}p\.m3u8|r\d+-\d+-(\d{2,4}p-)?\d+\.ts)$/;
const TYPES = { m3u8: 'application/vnd.apple.mpegurl', ts: 'video/mp2t' } as const;

/**
 * The mixed HLS output of each stream, as the mix function writes it, to anyone
 * holding a signed playback URL (API.md "Playback"): players send no bearer
 * token, so the capability is the URL's token. Without a valid one, 404, the
 * same as for a stream that does not exist.
 */
@Controller('live')
@Public()
export class LiveController {
  constructor(
    private readonly config: AppConfig,
    private readonly playback: PlaybackSigner,
  ) {}

  @Get(':id/:token/:file')
  serve(
    @Param('id') id: string,
    @Param('token') token: string,
    @Param('file') file: string,
    @Res() res: Response,
  ): void {
    if (!ResourceId.safeParse(id).success || !FILE.test(file) || !this.playback.verify(id, token)) {
      throw problems.notFound('No such stream output.');
    }
    const playlist = file.endsWith('.m3u8');
    res.sendFile(
      file,
      {
        root: join(this.config.mix.hlsDir, id),
        dotfiles: 'deny',
        headers: {
          'Content-Type': playlist ? TYPES.m3u8 : TYPES.ts,
          // The playlist changes every segment; segments never change once listed.
          'Cache-Control': playlist ? 'no-cache' : 'public, max-age=60',
          // Players are on any site: the URL's token is the credential, not the origin.
          'Access-Control-Allow-Origin': '*',
          'Cross-Origin-Resource-Policy': 'cross-origin',
        },
      },
      (err) => {
        if (!err || res.headersSent) return;
        sendProblem(res, problems.notFound('No such stream output.'));
      },
    );
  }
}
