import type { Role } from '@mesh/contracts';
import { SocketInbox, callApi, connectSocket, uniqueName, type ApiResponse, type RunningStack } from '@mesh/testing';
import type { Socket } from 'socket.io-client';

/** One person using the product: a token, the REST API, and a live socket with everything pushed to it. */
export interface Actor {
  readonly id: string;
  readonly token: string;
  readonly inbox: SocketInbox;
  readonly socket: Socket;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
}

/** The people of a scenario on one running stack; `close` disconnects all their sockets. */
export class Actors {
  private readonly sockets: Socket[] = [];

  constructor(protected readonly stack: RunningStack) {}

  async actor(prefix: string, roles: Role[]): Promise<Actor> {
    const id = uniqueName(prefix);
    const token = await this.stack.token(id, roles);
    const socket = await connectSocket(this.stack.baseUrl, token);
    this.sockets.push(socket);
    const baseUrl = this.stack.baseUrl;
    return {
      id,
      token,
      socket,
      inbox: new SocketInbox(socket),
      api: (method, path, body, headers) => callApi(baseUrl, token, method, path, body, headers),
    };
  }

  close(): void {
    for (const socket of this.sockets.splice(0)) socket.disconnect();
  }
}

/** The `METHOD /path` of every operation in the gateway's OpenAPI document. */
export async function documentedRoutes(baseUrl: string): Promise<string[]> {
  const doc = (await (await fetch(`${baseUrl}/docs/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}
