import { silentLogger } from '@mesh/harness';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { EgressProxy } from './egress-proxy';

const portOf = (server: { address(): unknown }) => (server.address() as AddressInfo).port;
const listen = <T extends Server | ReturnType<typeof createTcpServer>>(server: T) =>
  new Promise<T>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));

/** Names the tests resolve, as a DNS server would answer them. */
const dns: Record<string, string[]> = {
  'cams.test': ['127.0.0.1'],
  'rebinding.test': ['203.0.113.10', '169.254.169.254'],
};
const resolver = (host: string) =>
  dns[host] ? Promise.resolve(dns[host]) : Promise.reject(new Error(`ENOTFOUND ${host}`));

/**
 * 127.0.0.1 (any port) is allowed and listed, as MIX_INPUT_HOSTS=127.0.0.1:* says; the name
 * cams.test is allowed on any port but not listed; "localhost" reaches the same machine
 * under a name that is not allowed at all.
 */
describe('EgressProxy: ffmpeg’s only way out', () => {
  const policy = {
    allows: (host: string) => host === '127.0.0.1' || host.endsWith('.test'),
    listed: (address: string) => address === '127.0.0.1',
  };
  const proxy = new EgressProxy(policy, silentLogger, resolver);
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

  it('refuses an allowed name that resolves to a private, loopback or metadata address', async () => {
    // cams.test is allowed by name, but 127.0.0.1 is listed as an address, not as what a name may lead to.
    const strict = new EgressProxy({ ...policy, listed: () => false }, silentLogger, resolver);
    try {
      const port = Number(new URL(await strict.url()).port);
      for (const host of ['cams.test', 'rebinding.test']) {
        const status = await new Promise<number>((resolve, reject) => {
          request({ host: '127.0.0.1', port, path: `http://${host}:${portOf(origin)}/x` }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on('error', reject)
            .end();
        });
        expect({ host, status }).toEqual({ host, status: 403 });
      }
      expect(hits).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('connects to the address it checked, telling the upstream the name it was asked for', async () => {
    const answer = await viaProxy(`http://cams.test:${portOf(origin)}/seg2.ts`);
    expect(answer.status).toBe(200);
    expect(hits).toEqual(['GET /seg2.ts']);
  });

  it('refuses a port the policy does not allow (a redirect to another port of an allowed host)', async () => {
    const onePort = new EgressProxy(
      { allows: (host, port) => host === '127.0.0.1' && port === 1, listed: () => true },
      silentLogger,
      resolver,
    );
    try {
      const port = Number(new URL(await onePort.url()).port);
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: `http://127.0.0.1:${portOf(origin)}/x` }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(403);
      expect(hits).toEqual([]);
    } finally {
      await onePort.close();
    }
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
    const strict = new EgressProxy(
      {
        allows: (host) => {
          asked.push(host);
          return false;
        },
        listed: () => false,
      },
      silentLogger,
    );
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
