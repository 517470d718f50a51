/**
 * `npm run stack`: the gateway and the functions as separate processes on the
 * real Kafka and Redis (bring them up first with `npm run infra:up`).
 * Ctrl-C stops both, gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { localJwtSecret } from './dev-secret';

const root = join(__dirname, '..', '..');
const env = {
  // The k6 scenarios bring a whole fleet from this one machine's address: the per-address caps
  // for sessions not yet signed in would refuse it (set them yourself to try them).
  ANON_SOCKETS_PER_IP: '10000',
  ...process.env,
  ADAPTERS: 'real',
  JWT_SECRET: localJwtSecret(root),
};
const children: ChildProcess[] = [];

function run(name: string, entry: string): void {
  const child = spawn(process.execPath, [join(root, 'dist', entry)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    process.stderr.write(`[stack] ${name} exited (${signal ?? code})\n`);
    shutdown(code ?? 1);
  });
  children.push(child);
}

let stopping = false;
function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 10_000).unref();
  Promise.all(
    children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve)))),
  ).then(
    () => process.exit(code),
    () => process.exit(code),
  );
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
run('functions', 'apps/functions/src/main.js');
run('gateway', 'apps/gateway/src/main.js');
const port = process.env.PORT ?? '3000';
process.stdout.write(
  `[stack] gateway on http://127.0.0.1:${port} (docs /docs), functions metrics on :${process.env.FUNCTIONS_PORT ?? '3001'}\n` +
    '[stack] tokens: npm run token -- --sub courier-1 --roles courier\n',
);
