import type { ClientToServerEvents, ServerToClientEvents } from '@mesh/contracts';
import { io, type Socket } from 'socket.io-client';
import { Api, SignedOut, devToken } from './api';
import { byId } from './dom';
import { DashboardModel } from './model';
import { renderBoard, renderFunctions, renderSchedules, renderHeadline, renderMap, renderRooms } from './render';

const TOKEN_KEY = 'mesh.dashboard.token';
const FUNCTIONS_POLL_MS = 5_000;

type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline';

/**
 * The dispatcher dashboard. It follows the pushes; on a reconnect it resumes from
 * the last offset it saw per room and the server replays what it missed (API.md
 * "Missed events"); only when that cannot be done does it fetch a fresh snapshot.
 */
class Dashboard {
  private readonly model = new DashboardModel();
  private readonly api: Api;
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private frame = 0;
  private timers: number[] = [];
  /** The newest history offset seen per room, to resume from. */
  private readonly offsets: Record<string, string> = {};

  constructor(private readonly token: string) {
    this.api = new Api(token);
  }

  start(): void {
    byId('signin').hidden = true;
    byId('app').hidden = false;
    this.setConnection('connecting');
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      // Asked at every (re)connect, so it carries the offsets seen up to then.
      auth: (send) => send({ token: this.token, resume: { ...this.offsets } }),
      transports: ['websocket'],
      reconnectionDelayMax: 2_000,
    });
    this.socket = socket;
    socket.onAny((_event: string, _payload: unknown, meta?: { room: string; offset: string }) => {
      if (meta && Number(meta.offset) > Number(this.offsets[meta.room] ?? 0)) this.offsets[meta.room] = meta.offset;
    });
    socket.on('recovery', ({ recovered }) => void (recovered ? this.resumed() : this.catchUp()));
    socket.on('disconnect', () => this.setConnection('reconnecting'));
    socket.on('connect_error', (err) => {
      if (err.message === 'unauthorized') this.signOut('The token was refused; sign in again.');
      else this.setConnection('reconnecting');
    });
    socket.on('order.updated', (order) => {
      this.model.order(order);
      this.schedule();
    });
    socket.on('courier.location', (push) => {
      this.model.courierMoved(push);
      this.schedule();
    });
    socket.on('stream.updated', (stream) => {
      this.model.stream(stream);
      this.schedule();
    });
    byId('board').addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action="redispatch"]');
      const orderId = button?.dataset.orderId;
      if (!button || !orderId) return;
      button.disabled = true;
      this.api.redispatch(orderId).then(
        (order) => {
          this.model.order(order);
          this.schedule();
        },
        (err: unknown) => {
          button.disabled = false;
          this.notice(`Redispatch failed: ${(err as Error).message}`);
        },
      );
    });
    byId('signout').addEventListener('click', () => this.signOut());
    this.timers.push(
      window.setInterval(() => this.schedule(), 1_000),
      window.setInterval(() => void this.refreshFunctions(), FUNCTIONS_POLL_MS),
    );
    window.addEventListener('resize', () => this.schedule());
  }

  private async catchUp(): Promise<void> {
    try {
      const [orders, couriers, streams] = await Promise.all([
        this.api.orders(),
        this.api.couriers(),
        this.api.streams(),
      ]);
      this.model.reset({ orders, couriers: couriers.items, streams: streams.items });
      await this.refreshFunctions();
      this.setConnection('live');
      this.notice('');
      this.schedule();
    } catch (err) {
      if (err instanceof SignedOut) return this.signOut('The token was refused; sign in again.');
      this.notice(`Catching up failed: ${(err as Error).message}; retrying.`);
      window.setTimeout(() => void (this.socket?.connected ? this.catchUp() : undefined), 2_000);
    }
  }

  /** Everything missed was replayed; positions are not history, so only the couriers are fetched again. */
  private async resumed(): Promise<void> {
    try {
      this.model.resetCouriers((await this.api.couriers()).items);
    } catch {
      // the next positions bring them back
    }
    this.setConnection('live');
    this.notice('');
    this.schedule();
  }

  private async refreshFunctions(): Promise<void> {
    if (!this.socket?.connected) return;
    try {
      const [functions, schedules] = await Promise.all([this.api.functions(), this.api.schedules()]);
      this.model.functions = functions.items;
      this.model.schedules = schedules.items;
      this.schedule();
    } catch {
      // shown as stale figures until the next poll
    }
  }

  private setConnection(state: Connection): void {
    const pill = byId('connection');
    pill.dataset.state = state;
    pill.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', offline: 'offline' }[
      state
    ];
  }

  private notice(text: string): void {
    const box = byId('notice');
    box.textContent = text;
    box.hidden = text === '';
  }

  /** Renders at most once a frame, however many pushes arrive. */
  private schedule(): void {
    if (this.frame) return;
    this.frame = window.requestAnimationFrame(() => {
      this.frame = 0;
      const now = Date.now();
      renderHeadline(byId('headline'), this.model, now);
      renderMap(byId<SVGSVGElement>('map'), this.model);
      renderBoard(byId('board'), this.model, now);
      renderRooms(byId('rooms'), this.model.streams.values());
      renderFunctions(byId('functions'), this.model);
      renderSchedules(byId('schedules'), this.model);
    });
  }

  private signOut(message = ''): void {
    this.socket?.disconnect();
    for (const timer of this.timers) window.clearInterval(timer);
    sessionStorage.removeItem(TOKEN_KEY);
    byId('app').hidden = true;
    byId('signin').hidden = false;
    byId('signin-error').textContent = message;
  }
}

async function boot(): Promise<void> {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  const config = (await (await fetch('/dashboard/config.json')).json()) as { devTokens: boolean };
  const devButton = byId<HTMLButtonElement>('dev-token');
  devButton.hidden = !config.devTokens;
  const begin = (token: string) => {
    sessionStorage.setItem(TOKEN_KEY, token);
    new Dashboard(token).start();
  };
  byId<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = byId<HTMLTextAreaElement>('token').value.trim();
    if (token) begin(token);
  });
  devButton.addEventListener('click', () => {
    devToken().then(begin, (err: unknown) => {
      byId('signin-error').textContent = (err as Error).message;
    });
  });
  if (saved) begin(saved);
}

void boot();
