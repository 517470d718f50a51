import { resolvePublic, type Resolver } from '@mesh/streams';
import type { Logger } from '@mesh/telemetry';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** Headers that belong to one connection (RFC 9110 §7.6.1) and to the proxy, not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** An upstream that sends nothing for this long is given up (ffmpeg's own rw_timeout is shorter). */
const UPSTREAM_IDLE_MS = 30_000;

/** What the proxy lets through: endpoints by pattern, and which private addresses the operator listed. */
export interface EgressPolicy {
  /** Whether `host:port` matches an allowed endpoint (`defaultPort`: the scheme's, for patterns without one). */
  allows(host: string, port: number, defaultPort: number): boolean;
  /** Whether this very address is listed (then it may be private: a local test server). */
  listed(address: string): boolean;
}

/**
 * The only way out for ffmpeg's HTTP, HTTPS and TLS (rtmps): a forward proxy on
 * loopback that lets a request, or a CONNECT tunnel for TLS, through only to an
 * endpoint (host and port) the policy allows, and only to a public address: the
 * host is resolved here, every address checked, and the connection made to the
 * address checked (so DNS cannot answer differently in between).
 * Checking the URL a host gave us is not enough: ffmpeg follows redirects, and an HLS
 * playlist names its variants and segments by URLs that may point anywhere (another
 * host, a cloud metadata address, a service on our network). ffmpeg sends every one of
 * them here (`http_proxy` in its environment), so every hop is checked.
 */
export class EgressProxy {
  private server: Server | null = null;
  private listening: Promise<string> | null = null;
  private readonly tunnels = new Set<Socket>();

  constructor(
    private readonly policy: EgressPolicy,
    private readonly logger: Logger,
    private readonly resolve?: Resolver,
  ) {}

  /** The proxy's URL (`http://127.0.0.1:<port>`), listening from the first call on. */
  url(): Promise<string> {
    this.listening ??= new Promise<string>((resolve, reject) => {
      const server = createServer((req, res) => this.forward(req, res));
      server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => this.tunnel(req, client, head));
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve(`http://127.0.0.1:${port}`);
      });
      this.server = server;
    }).catch((err: unknown) => {
      this.listening = null;
      throw err;
    });
    return this.listening;
  }

  async close(): Promise<void> {
    for (const socket of this.tunnels) socket.destroy();
    const server = this.server;
    this.server = null;
    this.listening = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A plain-HTTP request in absolute form (`GET http://host/path`), passed on when its host is allowed. */
  private forward(req: IncomingMessage, res: ServerResponse): void {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return refuse(res, 400, 'a proxy request names an absolute http URL');
    }
    if (target.protocol !== 'http:') return refuse(res, 400, 'only http URLs are proxied; https goes through CONNECT');
    // An IPv6 literal comes in brackets; the policy and the connection take it bare.
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(target.port || 80);
    void this.destination(host, port, 80, 'request').then((address) => {
      if (address === null) return refuse(res, 403, 'endpoint not allowed (MIX_INPUT_HOSTS)');
      this.pass(req, res, target, address, port);
    });
  }

  private pass(req: IncomingMessage, res: ServerResponse, target: URL, address: string, port: number): void {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
    );
    const upstream = request(
      {
        host: address,
        port,
        // The upstream sees the name it was asked for, not the address it was pinned to.
        setHost: false,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: { ...headers, host: target.host },
      },
      (answer) => {
        const passed = Object.fromEntries(
          Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
        );
        res.writeHead(answer.statusCode ?? 502, passed);
        answer.pipe(res);
      },
    );
    upstream.setTimeout(UPSTREAM_IDLE_MS, () => upstream.destroy(new Error('upstream idle')));
    upstream.on('error', () => (res.headersSent ? res.destroy() : refuse(res, 502, 'upstream unreachable')));
    req.pipe(upstream);
  }

  /** `CONNECT host:port` (ffmpeg's TLS through a proxy): a raw tunnel, when the endpoint is allowed. */
  private tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    const [, host, port] = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '') ?? [];
    if (!host || !port) return closeTunnel(client, 400);
    client.pause();
    void this.destination(host, Number(port), 443, 'tunnel').then((address) => {
      if (address === null) return closeTunnel(client, 403);
      this.open(client, head, address, Number(port));
    });
  }

  private open(client: Socket, head: Buffer, address: string, port: number): void {
    let established = false;
    const upstream = connect(port, address, () => {
      established = true;
      client.resume();
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    this.tunnels.add(client);
    client.once('close', () => {
      this.tunnels.delete(client);
      upstream.destroy();
    });
    upstream.setTimeout(UPSTREAM_IDLE_MS, () => upstream.destroy());
    upstream.once('error', () => (established ? client.destroy() : closeTunnel(client, 502)));
    // Once tunnelled, the two sides close together; before, closeTunnel is answering the client.
    upstream.once('close', () => established && client.destroy());
    client.once('error', () => upstream.destroy());
  }

  /** The address to connect to for `host:port`, or null when the policy refuses it (logged). */
  private async destination(
    host: string,
    port: number,
    defaultPort: number,
    how: 'request' | 'tunnel',
  ): Promise<string | null> {
    const name = host.toLowerCase();
    if (!this.policy.allows(name, port, defaultPort)) {
      this.logger.warn(
        { host: name, port, how },
        'refused ffmpeg a connection to an endpoint the policy does not allow',
      );
      return null;
    }
    const found = await resolvePublic(name, (address) => this.policy.listed(address), this.resolve);
    if (!found.ok) {
      this.logger.warn(
        { host: name, port, how, reason: found.reason },
        'refused ffmpeg a connection to a private address',
      );
      return null;
    }
    return found.address;
  }
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(`${reason}\n`);
}

function closeTunnel(client: Socket, status: 400 | 403 | 502): void {
  const text = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway' }[status];
  if (client.writable) client.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n\r\n`);
  else client.destroy();
}
