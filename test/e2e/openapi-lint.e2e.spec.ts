import { AppConfig } from '@mesh/config';
import { REPO_ROOT, silentLogger } from '@mesh/harness';
import type { INestApplication } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../apps/gateway/src/bootstrap';
import { buildOpenApiDocument } from '../../apps/gateway/src/docs/openapi';

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer?: string }[];
}

/** The problems Redocly's CLI finds in a document with the repository's redocly.yaml (recommended rules). */
function redoclyLint(document: unknown): LintProblem[] {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const run = spawnSync(
      join(REPO_ROOT, 'node_modules', '.bin', 'redocly'),
      ['lint', file, '--format=json', `--config=${join(REPO_ROOT, 'redocly.yaml')}`],
      { encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
    );
    if (run.error) throw run.error;
    const report = JSON.parse(run.stdout) as { problems?: LintProblem[] };
    if (!report.problems) throw new Error(`redocly lint said nothing readable: ${run.stdout} ${run.stderr}`);
    return report.problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The document the apps are written against passes the ecosystem's own linter, warnings included. */
describe('the OpenAPI document under Redocly lint', () => {
  let app: INestApplication;
  afterAll(() => app?.close());

  it('has no error and no warning by the recommended rules', async () => {
    const config = AppConfig.fromEnv({
      JWT_SECRET: 'a-secret-for-the-lint-test-only-0123456789abcdef',
      ADAPTERS: 'memory',
      DEV_TOKENS: '1',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    });
    app = await createGateway(config, silentLogger);
    const problems = redoclyLint(buildOpenApiDocument(app));
    expect(problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`)).toEqual(
      [],
    );
  });
});
