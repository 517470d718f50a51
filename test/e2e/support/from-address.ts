import { Agent, request } from 'node:http';
import { io, type Socket } from 'socket.io-client';

export interface PlainResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A client on another loopback address (127.0.0.x all reach the gateway on
 * 127.0.0.1), so per-address limits can be tried without touching the test's own.
 */
export function fromAddress(localAddress: string) {
  const agent = new Agent({ localAddress, keepAlive: false });
  return {
    get(url: string, headers: Record<string, string> = {}): Promise<PlainResponse> {
      return new Promise((resolve, reject) => {
        const req = request(url, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
          );
        });
        req.once('error', reject);
        req.end();
      });
    },
    /** A Socket.IO client from this address; resolves once connected, rejects with the refusal. */
    socket(baseUrl: string, token: string, extraHeaders: Record<string, string> = {}): Promise<Socket> {
      // socket.io-client's types say string | boolean; in Node it hands the agent to ws, which takes an http.Agent.
      const options = { transports: ['websocket'], auth: { token }, reconnection: false, agent, extraHeaders };
      const socket = io(baseUrl, options as unknown as Parameters<typeof io>[1]);
      return new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', (err) => {
          socket.close();
          reject(err);
        });
      });
    },
  };
}
