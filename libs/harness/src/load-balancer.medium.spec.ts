import { GATEWAY_IDLE_KEEP_ALIVE_MS } from '@mesh/config';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { eventually } from './eventually';
import { startLoadBalancer } from './load-balancer';
import { freePort, type RunningProcess } from './stack';

/** Longer than the load balancer used to keep an idle app connection (10 s). */
const IDLE_MS = 11_000;

/** Sends one request on the connection and resolves with the whole answer's head and body. */
function exchange(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.readableEnded || socket.destroyed) {
      reject(new Error('the balancer closed the connection while it was idle'));
      return;
    }
    let answer = '';
    const onData = (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      const head = answer.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(answer)?.[1];
      if (head >= 0 && length !== undefined && answer.length >= head + 4 + Number(length)) {
        settle();
        resolve(answer);
      }
    };
    const onEnd = () => {
      settle();
      reject(new Error(`the connection was closed before an answer came (${answer.length} bytes read)`));
    };
    const settle = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: mesh.test\r\n\r\n`);
  });
}

describe('the load balancer in front of the gateways', () => {
  let gateway: Server;
  let balancer: RunningProcess;
  let port: number;

  beforeAll(async () => {
    // Stands in for a gateway: answers everything, keeps idle connections as the gateways do.
    gateway = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"ok"}');
    });
    gateway.keepAliveTimeout = GATEWAY_IDLE_KEEP_ALIVE_MS;
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const address = gateway.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = await freePort();
    balancer = startLoadBalancer(port, [{ name: 'gateway-1', port: address.port }]);
    await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.status !== 200) throw new Error(`the balancer answered ${res.status}`);
    });
  });

  afterAll(async () => {
    await balancer?.stop();
    await new Promise((resolve) => gateway?.close(resolve));
  });

  it("answers an app on a connection left idle for as long as the gateway's Keep-Alive lets it", async () => {
    const socket = connect(port, '127.0.0.1');
    try {
      const first = await exchange(socket, '/v1/orders');
      expect(first).toMatch(/^HTTP\/1\.1 200/);
      // What the app is told: it may keep this connection idle for as long as the gateway does.
      expect(first).toMatch(new RegExp(`keep-alive: timeout=${GATEWAY_IDLE_KEEP_ALIVE_MS / 1000}`, 'i'));

      // Idle for a while, as an app between two orders.
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));

      await expect(exchange(socket, '/v1/orders')).resolves.toMatch(/^HTTP\/1\.1 200/);
    } finally {
      socket.destroy();
    }
  }, 30_000);
});
