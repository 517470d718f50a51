import { spawn } from 'node:child_process';
import { GATEWAY_IDLE_KEEP_ALIVE_MS } from '@mesh/config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningProcess } from './stack';

export interface Backend {
  name: string;
  port: number;
}

/** How long an app's idle connection is kept: past what the gateways' Keep-Alive header promises. */
export const CLIENT_IDLE_S = GATEWAY_IDLE_KEEP_ALIVE_MS / 1000 + 10;

/**
 * The HAProxy configuration in front of the gateways, as a deployment would have
 * it (the Kubernetes Service does the same job there):
 * - health-checked every half second on `/healthz` (alive, not "ready": a gateway
 *   that cannot reach Kafka answers 503 problem+json itself), and taken out at once
 *   when a connection to it fails;
 * - a connection refused by a dead gateway is retried on another (`redispatch` on every retry);
 *   a request a gateway died answering is retried elsewhere only when it is safe
 *   (GET, HEAD): a POST may have been taken, and its Idempotency-Key is the client's to use;
 * - Socket.IO: WebSocket tunnels kept open, and a cookie pins a browser's long-polling
 *   session (before its upgrade) to the gateway that holds it;
 * - an idle app connection is kept open longer than the apps keep it: HAProxy passes on the
 *   gateways' `Keep-Alive: timeout=65`, so an app may send on a connection idle for up to a
 *   minute. Closing it sooner (10 s, before) lets an app send on a connection the balancer is
 *   closing at that moment: `fetch failed`, and a POST is not sent again.
 */
export function haproxyConfig(port: number, backends: readonly Backend[]): string {
  return [
    'global',
    // Two descriptors per connection (client and gateway side) must fit the process' limit (20,000 here).
    '  maxconn 9000',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    `  timeout client ${CLIENT_IDLE_S}s`,
    '  timeout server 60s',
    '  timeout tunnel 1h',
    `  timeout http-keep-alive ${CLIENT_IDLE_S}s`,
    '  option redispatch 1',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    // Its own errors (no gateway left, one died mid-answer) in API.md's problem+json, as the gateways' are.
    ...[502, 503, 504].map(
      (status) =>
        `  http-error status ${status} content-type application/problem+json string ` +
        `'{"type":"/problems/dependency-down","title":"Service unavailable","status":${status},"detail":"No gateway could answer; retry shortly."}'`,
    ),
    'frontend mesh',
    `  bind 127.0.0.1:${port}`,
    '  http-request disable-l7-retry if !METH_GET !METH_HEAD',
    '  default_backend gateways',
    'backend gateways',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    '  cookie mesh-gw insert indirect nocache httponly',
    '  default-server check inter 500 fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down',
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} cookie ${b.name}`),
    '',
  ].join('\n');
}

/** Runs Debian's HAProxy (`infra:up -- --cluster` installs it) in the foreground on `port`. */
export function startLoadBalancer(port: number, backends: readonly Backend[]): RunningProcess {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backends));
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      output.push(`haproxy could not start: ${err.message} (npm run infra:up -- --cluster installs it)`);
      resolve(null);
    });
  });
  void exited.then(() => rmSync(dir, { recursive: true, force: true }));
  return {
    name: 'haproxy',
    child,
    output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
