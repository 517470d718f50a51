/**
 * `npm run stack`: the gateway and the functions as separate processes on the
 * real Kafka and Redis (bring them up first with `npm run infra:up`).
 * `npm run stack -- --cluster`: the cluster topology (`npm run infra:up -- --cluster`
 * first): two gateways behind HAProxy on PORT, two functions processes, on the three
 * brokers and the Redis Cluster, with three markets unless MARKETS says otherwise.
 * Ctrl-C stops them all, gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startLoadBalancer } from '@mesh/harness';
import { ALL_BUT_MIX, CLUSTER_DEPENDENCIES, CLUSTER_MARKETS } from '@mesh/harness';
import { localJwtSecret } from './dev-secret';

const cluster = process.argv.includes('--cluster');

const root = join(__dirname, '..', '..');
const env = {
  // The k6 scenarios bring a whole fleet from this one machine's address: the per-address caps
  // for sessions not yet signed in would refuse it (set them yourself to try them).
  ANON_SOCKETS_PER_IP: '10000',
  ...(cluster ? { ...CLUSTER_DEPENDENCIES, MARKETS: CLUSTER_MARKETS } : {}),
  ...process.env,
  ADAPTERS: 'real',
  JWT_SECRET: localJwtSecret(root),
};
const children: ChildProcess[] = [];

function run(name: string, entry: string, own: NodeJS.ProcessEnv = {}): void {
  // MESH_PROFILE_DIR: each process writes a V8 CPU profile there when it stops (as the bench's stacks do).
  const profile = process.env.MESH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MESH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, join(root, 'dist', entry)], {
    env: { ...env, ...own },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
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
const port = Number(process.env.PORT ?? '3000');
const functionsPort = Number(process.env.FUNCTIONS_PORT ?? '3001');
if (cluster) {
  const gatewayPorts = [port + 10, port + 11];
  run('functions-1', 'apps/functions/src/main.js', { FUNCTIONS_PORT: String(functionsPort) });
  // The mix runs on one replica until live rooms scale out (scaling-policy.json).
  run('functions-2', 'apps/functions/src/main.js', {
    FUNCTIONS_PORT: String(functionsPort + 10),
    FUNCTIONS: ALL_BUT_MIX,
  });
  gatewayPorts.forEach((p, i) => run(`gateway-${i + 1}`, 'apps/gateway/src/main.js', { PORT: String(p) }));
  const lb = startLoadBalancer(
    port,
    gatewayPorts.map((p, i) => ({ name: `gw${i + 1}`, port: p })),
  );
  children.push(lb.child);
  lb.child.on('exit', () => shutdown(1));
  process.stdout.write(
    `[stack] HAProxy on http://127.0.0.1:${port} in front of gateways :${gatewayPorts.join(', :')}; ` +
      `functions metrics on :${functionsPort} and :${functionsPort + 10}\n`,
  );
} else {
  run('functions', 'apps/functions/src/main.js');
  run('gateway', 'apps/gateway/src/main.js');
  process.stdout.write(
    `[stack] gateway on http://127.0.0.1:${port} (docs /docs), functions metrics on :${functionsPort}\n`,
  );
}
process.stdout.write('[stack] tokens: npm run token -- --sub courier-1 --roles courier\n');
