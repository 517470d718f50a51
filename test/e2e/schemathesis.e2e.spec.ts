import { MeshClient } from '@mesh/client';
import { ROLES, type Role } from '@mesh/contracts';
import { freePort, REPO_ROOT, startProcess, waitForHttp, type RunningProcess } from '@mesh/harness';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Requests Schemathesis makes per operation and phase; enough to walk every parameter's edges. */
const MAX_EXAMPLES = '30';

/** Runs Schemathesis (tools:install put it in .tools/venv) on the gateway's own document; its exit code and output. */
function schemathesis(baseUrl: string, token: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const run = spawn(
      join(REPO_ROOT, '.tools', 'venv', 'bin', 'schemathesis'),
      [
        'run',
        `${baseUrl}/docs/openapi.json`,
        '--checks',
        'all',
        '--header',
        `Authorization: Bearer ${token}`,
        '--max-examples',
        MAX_EXAMPLES,
        '--no-color',
      ],
      // From the repository's root, where Schemathesis finds its settings (schemathesis.toml).
      { cwd: REPO_ROOT, env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false' } },
    );
    let output = '';
    run.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    run.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    run.once('error', reject);
    run.once('exit', (status) => resolve({ status, output }));
  });
}

/**
 * The API fuzzed from outside with the ecosystem's own tool, every check on: schema-valid
 * requests accepted, invalid ones refused, every answer as documented (status, headers,
 * body), no server error, unsupported methods answered 405. On the embedded default
 * (in-memory adapters), as a caller of each role in turn.
 */
describe('the API under Schemathesis (embedded gateway)', () => {
  let gateway: RunningProcess;
  let baseUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    gateway = startProcess('embedded', 'apps/embedded/src/main.js', {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SIMULATE: '0',
      JWT_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'error',
      // A fuzzer is one very busy caller: budgets would answer 429 to most of what it sends.
      RATE_LIMIT_REQUESTS: '0',
      ANON_RATE_LIMIT_REQUESTS: '0',
    });
    await waitForHttp(`${baseUrl}/healthz`, gateway);
  });
  afterAll(() => gateway?.stop());

  it.each(ROLES)(
    'finds no failure as a %s',
    async (role: Role) => {
      const token = await new MeshClient({ baseUrl }).dev.issue({ sub: `fuzzing-${role}`, roles: [role] });
      const { status, output } = await schemathesis(baseUrl, token);
      // On failure, what Schemathesis reported (its failures come with a curl line to replay each).
      expect({ role, status, output: status === 0 ? '' : output.slice(-8_000) }).toEqual({
        role,
        status: 0,
        output: '',
      });
    },
    600_000,
  );
});
