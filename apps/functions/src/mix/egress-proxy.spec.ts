import { silentLogger } from '@mesh/testing';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { EgressProxy } from './egress-proxy';

const portOf = (server: { address(): unknown }) => (server.address() as AddressInfo).port;
const listen = <T extends Server | ReturnType<typeof createTcpServer>>(server: T) =>
  new Promise<T>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));

/** Only 127.0.0.1 is allowed; "localhost" reaches the same machine under a name that is not. */
describe('EgressProxy: ffmpeg’s only way out', () => {
  const proxy = new EgressProxy((host) => host === '127.0.0.1', silentLogger);
  const hits: string[] = [];
  let origin: Server;
  let proxyPort: number;

  beforeAll(async () => {
    origin = await listen(
      createHttpServer((req, res) => {
        hits.push(`${req.method} ${req.url}`);
        res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': 'yes' }).end('segment bytes');
      }),
    );
    proxyPort = Number(new URL(await proxy.url()).port);
  });
  beforeEach(() => hits.splice(0));
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => origin.close(resolve));
  });

  /** A request through the proxy, as ffmpeg's http protocol makes it (absolute URL in the request line). */
  const viaProxy = (url: string) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxyPort, path: url });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  /** The proxy's status line for a CONNECT, then (when tunnelled) what came back through it. */
  const tunnelTo = (target: string, send: string) =>
    new Promise<{ statusLine: string; echoed: string }>((resolve, reject) => {
      const socket = connect(proxyPort, '127.0.0.1', () =>
        socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`),
      );
      let received = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        received += chunk;
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const statusLine = received.slice(0, received.indexOf('\r\n'));
        if (!statusLine.includes(' 200 ')) {
          socket.destroy();
          resolve({ statusLine, echoed: '' });
        } else if (received.length === end + 4) {
          socket.write(send);
        } else if (received.length >= end + 4 + send.length) {
          socket.destroy();
          resolve({ statusLine, echoed: received.slice(end + 4) });
        }
      });
      socket.on('error', reject);
    });

  it('passes a request to an allowed host through, answer and headers included', async () => {
    const answer = await viaProxy(`http://127.0.0.1:${portOf(origin)}/live/seg1.ts?token=a`);
    expect(answer).toMatchObject({ status: 200, body: 'segment bytes', headers: { 'x-origin': 'yes' } });
    expect(hits).toEqual(['GET /live/seg1.ts?token=a']);
  });

  it('refuses a request to any other host with 403, and that host never hears of it', async () => {
    const answer = await viaProxy(`http://localhost:${portOf(origin)}/metadata`);
    expect(answer.status).toBe(403);
    expect(hits).toEqual([]);
  });

  it('tunnels TLS (CONNECT) only to an allowed host', async () => {
    const connections: string[] = [];
    const echo = await listen(
      createTcpServer((socket) => {
        connections.push('connected');
        socket.pipe(socket);
      }),
    );
    try {
      const allowed = await tunnelTo(`127.0.0.1:${portOf(echo)}`, 'client hello');
      expect(allowed).toEqual({ statusLine: 'HTTP/1.1 200 Connection Established', echoed: 'client hello' });
      const refused = await tunnelTo(`localhost:${portOf(echo)}`, 'client hello');
      expect(refused.statusLine).toBe('HTTP/1.1 403 Forbidden');
      expect(connections).toEqual(['connected']);
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  it('judges an IPv6 literal by its bare address, as MIX_INPUT_HOSTS writes it', async () => {
    const asked: string[] = [];
    const strict = new EgressProxy((host) => {
      asked.push(host);
      return false;
    }, silentLogger);
    try {
      const port = Number(new URL(await strict.url()).port);
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: 'http://[::1]:9/segment.ts' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(403);
      expect(asked).toEqual(['::1']);
    } finally {
      await strict.close();
    }
  });

  it('answers 400 to a request that is not for a proxy (no absolute URL)', async () => {
    const answer = await viaProxy('/just/a/path');
    expect(answer.status).toBe(400);
    expect(hits).toEqual([]);
  });
});
