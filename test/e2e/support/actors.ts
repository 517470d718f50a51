import { MeshClient, type MeshLive, type MeshResponse } from '@mesh/client';
import type { Role } from '@mesh/contracts';
import { SocketInbox, uniqueName, type RunningStack } from '@mesh/harness';

/** One person using the product through `@mesh/client`: typed REST, a live connection and everything pushed to it. */
export interface Actor {
  readonly id: string;
  readonly token: string;
  readonly client: MeshClient;
  readonly live: MeshLive;
  readonly inbox: SocketInbox;
  /**
   * One raw exchange with the gateway through the client's transport (no retry, no refresh), answered
   * whatever its status: for the tests that check the contract's statuses on input no typed call would send.
   */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<MeshResponse<T>>;
}

/** The people of a scenario on one running stack; `close` disconnects all their sockets. */
export class Actors {
  private readonly lives: MeshLive[] = [];

  constructor(protected readonly stack: RunningStack) {}

  async actor(prefix: string, roles: Role[]): Promise<Actor> {
    const id = uniqueName(prefix);
    const token = await this.stack.token(id, roles);
    // No retries: a test sees each answer as it came.
    const client = new MeshClient({ baseUrl: this.stack.baseUrl, token, retry: { attempts: 0 } });
    const live = await client.live({ transports: ['websocket'], reconnection: false }).connect();
    this.lives.push(live);
    return {
      id,
      token,
      client,
      live,
      inbox: new SocketInbox(live),
      api: (method, path, body, headers) =>
        client.http.send({
          method,
          path,
          ...(body !== undefined ? { json: body } : {}),
          ...(headers ? { headers } : {}),
        }),
    };
  }

  close(): void {
    for (const live of this.lives.splice(0)) live.close();
  }
}

/** The `METHOD /path` of every operation in the gateway's OpenAPI document. */
export async function documentedRoutes(baseUrl: string): Promise<string[]> {
  const doc = (await (await fetch(`${baseUrl}/docs/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}
