import type { ServerEventName, ServerEventPayload } from '@mesh/contracts';
import { io, type Socket } from 'socket.io-client';
import { eventually } from './eventually';

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** What an app does over HTTP: JSON in and out with its bearer token. */
export async function callApi<T = unknown>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Opens an app's Socket.IO connection; rejects with the handshake error. */
export async function connectSocket(baseUrl: string, token: string): Promise<Socket> {
  const socket = io(baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Everything the server pushed to one socket, by event, for tests to wait on. */
export class SocketInbox {
  readonly received: { event: ServerEventName; payload: unknown; at: number }[] = [];

  constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => {
      this.received.push({ event: event as ServerEventName, payload, at: Date.now() });
    });
  }

  all<E extends ServerEventName>(event: E): ServerEventPayload<E>[] {
    return this.received.filter((r) => r.event === event).map((r) => r.payload as ServerEventPayload<E>);
  }

  /** The first `event` matching `where`, waiting for it up to the deadline. */
  async next<E extends ServerEventName>(
    event: E,
    where: (payload: ServerEventPayload<E>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<ServerEventPayload<E>> {
    return eventually(
      () => {
        const found = this.all(event).find(where);
        if (!found) throw new Error(`no ${event} matching yet; got ${JSON.stringify(this.all(event)).slice(0, 500)}`);
        return found;
      },
      { timeoutMs, intervalMs: 20 },
    );
  }
}
