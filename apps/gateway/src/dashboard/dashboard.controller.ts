import { Controller, Get, Param, Res } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { problems } from '@mesh/problem';
import type { Response } from 'express';
import { join } from 'node:path';
import { Public } from '../auth/auth.decorators';
import { sendProblem } from '../http/problem.filter';

/** Built by `npm run build` (scripts/build-dashboard.mjs) next to the compiled apps. */
const DASHBOARD_DIR = join(__dirname, '..', '..', '..', '..', 'dashboard');
const ASSETS: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json',
  'style.css': 'text/css; charset=utf-8',
};
/** The page talks to its own origin only: scripts, styles, fetches and the socket. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The dispatcher dashboard's files. The page itself is public (it holds no
 * data); everything it shows comes through the API and socket with the
 * dispatcher's token.
 */
@Controller('dashboard')
@Public()
export class DashboardController {
  constructor(private readonly config: AppConfig) {}

  @Get()
  page(@Res() res: Response): void {
    this.send(res, 'index.html', 'text/html; charset=utf-8');
  }

  @Get('config.json')
  settings(): { devTokens: boolean } {
    return { devTokens: this.config.devTokens };
  }

  @Get(':file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const type = ASSETS[file];
    if (!type) throw problems.notFound('No such dashboard file.');
    this.send(res, file, type);
  }

  private send(res: Response, file: string, type: string): void {
    res.sendFile(
      file,
      {
        root: DASHBOARD_DIR,
        headers: {
          'Content-Type': type,
          'Content-Security-Policy': CSP,
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-cache',
        },
      },
      (err) => {
        if (err && !res.headersSent)
          sendProblem(res, problems.notFound('The dashboard is not built; run npm run build.'));
      },
    );
  }
}
