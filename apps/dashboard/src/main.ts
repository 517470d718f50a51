import { MeshClient, UnauthorizedError, type MeshLive } from '@mesh/client';
import type { OrderView } from '@mesh/contracts';
import { ReportChart } from './chart';
import { byId, el } from './dom';
import {
  DashboardModel,
  REPORT_SPANS,
  isReportSpan,
  proofShown,
  reportSeries,
  reportSpan,
  trailSpan,
  trailState,
  urlFresh,
  type ReportGroupBy,
  type ReportQuery,
  type ReportSpanKey,
} from './model';
import {
  renderBoard,
  renderFunctions,
  renderSchedules,
  renderHeadline,
  renderMap,
  renderReportStatus,
  renderReportTable,
  renderRooms,
  renderTrailBar,
} from './render';

const TOKEN_KEY = 'mesh.dashboard.token';
const FUNCTIONS_POLL_MS = 5_000;
/** Reports (and a shown trail) are read again this often; the archive writes them behind the live events. */
const REPORTS_POLL_MS = 60_000;

type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline';

/**
 * The dispatcher dashboard. It follows the pushes; on a reconnect it resumes from
 * the last offset it saw per room and the server replays what it missed (API.md
 * "Missed events"); only when that cannot be done does it fetch a fresh snapshot.
 */
const REFUSED = 'The token was refused; sign in again.';
/** The whole fleet on the map: the API's largest page of couriers (MAX_FLEET_PAGE). */
const FLEET_PAGE = 2_000;

class Dashboard {
  private readonly model = new DashboardModel();
  /** The gateway's API on the page's own origin, with the dispatcher's token. */
  private readonly api: MeshClient;
  private live: MeshLive | null = null;
  private frame = 0;
  private timers: number[] = [];
  /** Ends the listeners this dashboard added to the page, at sign-out. */
  private readonly listening = new AbortController();
  private readonly chart = new ReportChart(byId<HTMLCanvasElement>('report-chart'));
  private reportSpanKey: ReportSpanKey = REPORT_SPANS[0].key;
  private reportGroupBy: ReportGroupBy = 'hour';
  /** Only the newest report request may draw (an older answer can arrive after it). */
  private reportRequest = 0;
  private reportLoadedAtMs: number | null = null;
  /** Orders being read again for fresh photo URLs (one request per order at a time). */
  private readonly refreshing = new Set<string>();
  /** The order whose proof photo the dialog shows. */
  private proofOrderId: string | null = null;

  constructor(token: string) {
    this.api = new MeshClient({ baseUrl: '', token });
  }

  start(): void {
    byId('signin').hidden = true;
    byId('app').hidden = false;
    this.setConnection('connecting');
    // The client resumes from the last offset it saw per room after a reconnect (API.md "Missed events").
    const live = this.api.live({ transports: ['websocket'], reconnectionDelayMaxMs: 2_000 });
    this.live = live;
    live.onRecovery((recovered) => void (recovered ? this.resumed() : this.catchUp()));
    live.onClosed(() => this.signOut(REFUSED));
    live.connect().catch(() => this.signOut(REFUSED));
    const socket = live.socket;
    socket.on('disconnect', () => this.setConnection('reconnecting'));
    socket.on('connect_error', (err) => {
      if (err.message !== 'unauthorized') this.setConnection('reconnecting');
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
      this.api.orders.redispatch(orderId).then(
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
    this.listenForTrails();
    this.listenForProofs();
    this.listenForReports();
    this.timers.push(
      window.setInterval(() => this.schedule(), 1_000),
      window.setInterval(() => void this.refreshFunctions(), FUNCTIONS_POLL_MS),
      window.setInterval(() => {
        // Like the functions' figures: polled only while the gateway is there to answer.
        if (!this.live?.connected) return;
        void this.refreshReports();
        if (this.model.trail && !this.model.trail.loading) void this.showTrail(this.model.trail.courierId, true);
      }, REPORTS_POLL_MS),
    );
    window.addEventListener('resize', () => this.schedule());
    void this.refreshReports();
  }

  /** A courier picked on the board or the map shows its last 24 hours on the map until closed. */
  private listenForTrails(): void {
    const { signal } = this.listening;
    byId('board').addEventListener(
      'click',
      (event) => {
        const button = (event.target as Element).closest<HTMLElement>('button[data-action="trail"]');
        if (button?.dataset.courierId) void this.showTrail(button.dataset.courierId);
      },
      { signal },
    );
    byId('map').addEventListener(
      'click',
      (event) => {
        const dot = (event.target as Element).closest<SVGElement>('circle.courier[data-courier-id]');
        if (dot?.dataset.courierId) void this.showTrail(dot.dataset.courierId);
      },
      { signal },
    );
    byId('trail-bar').addEventListener(
      'click',
      (event) => {
        if (!(event.target as Element).closest('button[data-action="close-trail"]')) return;
        this.model.trail = null;
        this.schedule();
      },
      { signal },
    );
  }

  private async showTrail(courierId: string, quiet = false): Promise<void> {
    if (!quiet) {
      this.model.trail = { courierId, loading: true, positions: [], orderIds: [], from: null, to: null, error: null };
      this.schedule();
    }
    try {
      const trail = await this.api.admin.courierTrail(courierId, trailSpan(Date.now()));
      if (this.model.trail?.courierId !== courierId) return; // closed, or another courier picked meanwhile
      this.model.trail = trailState(trail);
    } catch (err) {
      if (err instanceof UnauthorizedError) return this.signOut(REFUSED);
      if (this.model.trail?.courierId !== courierId) return;
      if (!quiet) this.model.trail = { ...this.model.trail, loading: false, error: (err as Error).message };
    }
    this.schedule();
  }

  /**
   * A card's thumbnail opens its proof-of-delivery photo in a modal dialog, closed
   * by Escape, its Close button or a click beside it; focus goes back to the thumbnail.
   */
  private listenForProofs(): void {
    const { signal } = this.listening;
    const board = byId('board');
    const dialog = byId<HTMLDialogElement>('proof-dialog');
    const photo = byId<HTMLImageElement>('proof-photo');
    board.addEventListener(
      'click',
      (event) => {
        const button = (event.target as Element).closest<HTMLElement>('button[data-action="proof"]');
        if (button?.dataset.orderId) void this.showProof(button.dataset.orderId);
      },
      { signal },
    );
    // A thumbnail loads lazily: one whose URL expired first asks for the order again, with fresh URLs.
    // (An image's error does not bubble, so it is caught on the way down.)
    board.addEventListener(
      'error',
      (event) => {
        const img = event.target;
        if (!(img instanceof HTMLImageElement) || !img.classList.contains('proof-thumb')) return;
        const orderId = img.closest<HTMLElement>('[data-order-id]')?.dataset.orderId;
        if (!orderId || urlFresh(img.src, Date.now())) return;
        this.freshOrder(orderId).catch((err: unknown) => {
          if (err instanceof UnauthorizedError) this.signOut(REFUSED);
          // otherwise the card shows the thumbnail's alt text until the next push
        });
      },
      { capture: true, signal },
    );
    dialog.addEventListener(
      'click',
      (event) => {
        const target = event.target as Element;
        if (target.closest('button[data-action="close-proof"]')) return dialog.close();
        if (target !== dialog) return;
        // A click on the dialog itself is on its padding or, outside its box, on the backdrop.
        const box = dialog.getBoundingClientRect();
        const inside =
          event.clientX >= box.left &&
          event.clientX <= box.right &&
          event.clientY >= box.top &&
          event.clientY <= box.bottom;
        if (!inside) dialog.close();
      },
      { signal },
    );
    dialog.addEventListener(
      'close',
      () => {
        photo.removeAttribute('src');
        const orderId = this.proofOrderId;
        this.proofOrderId = null;
        // The board is drawn afresh every second, so the thumbnail that opened the dialog is found again.
        if (orderId)
          document
            .querySelector<HTMLElement>(`#board button[data-action="proof"][data-order-id="${CSS.escape(orderId)}"]`)
            ?.focus();
      },
      { signal },
    );
    photo.addEventListener('load', () => this.proofState('shown', ''), { signal });
    photo.addEventListener(
      'error',
      () => {
        if (photo.hasAttribute('src')) this.proofState('failed', 'The photo could not be loaded.');
      },
      { signal },
    );
  }

  /** Opens the dialog on an order's photo; a URL about to expire is signed afresh first. */
  private async showProof(orderId: string): Promise<void> {
    let shown = proofShown(this.model.orders.get(orderId)?.proof);
    if (shown?.kind === 'thumbnail' && !urlFresh(shown.photoUrl, Date.now())) {
      try {
        shown = proofShown((await this.freshOrder(orderId))?.proof);
      } catch (err) {
        if (err instanceof UnauthorizedError) return this.signOut(REFUSED);
        return this.notice(`The photo could not be opened: ${(err as Error).message}`);
      }
    }
    if (shown?.kind !== 'thumbnail' || this.listening.signal.aborted) return;
    const dialog = byId<HTMLDialogElement>('proof-dialog');
    const photo = byId<HTMLImageElement>('proof-photo');
    const short = orderId.slice(-8);
    this.proofOrderId = orderId;
    byId('proof-title').textContent = `Proof of delivery · order ${short}`;
    photo.alt = `Proof-of-delivery photo of order ${short}, full size`;
    this.proofState('loading', 'Loading the photo…');
    photo.src = shown.photoUrl;
    if (!dialog.open) dialog.showModal();
  }

  private proofState(state: 'loading' | 'shown' | 'failed', text: string): void {
    byId('proof-dialog').dataset.state = state;
    byId('proof-status').textContent = text;
  }

  /** Reads an order again, its photo URLs signed afresh; null when it is being read already. */
  private async freshOrder(orderId: string): Promise<OrderView | null> {
    if (this.refreshing.has(orderId)) return null;
    this.refreshing.add(orderId);
    try {
      const order = await this.api.orders.get(orderId);
      this.model.order(order);
      this.schedule();
      return order;
    } finally {
      this.refreshing.delete(orderId);
    }
  }

  private listenForReports(): void {
    const { signal } = this.listening;
    const span = byId<HTMLSelectElement>('report-span');
    span.replaceChildren(...REPORT_SPANS.map((s) => el('option', { value: s.key }, s.title)));
    span.value = this.reportSpanKey;
    span.addEventListener(
      'change',
      () => {
        if (!isReportSpan(span.value)) return;
        this.reportSpanKey = span.value;
        void this.refreshReports();
      },
      { signal },
    );
    const toggles = [...document.querySelectorAll<HTMLButtonElement>('#reports button[data-group-by]')];
    const pressed = () => {
      for (const b of toggles) b.setAttribute('aria-pressed', String(b.dataset.groupBy === this.reportGroupBy));
    };
    pressed();
    for (const button of toggles) {
      button.addEventListener(
        'click',
        () => {
          const groupBy = button.dataset.groupBy === 'area' ? 'area' : 'hour';
          if (groupBy === this.reportGroupBy) return;
          this.reportGroupBy = groupBy;
          pressed();
          void this.refreshReports();
        },
        { signal },
      );
    }
    const csv = byId<HTMLButtonElement>('report-csv');
    csv.addEventListener('click', () => void this.downloadCsv(csv), { signal });
  }

  private reportQuery(): ReportQuery {
    return { ...reportSpan(this.reportSpanKey, Date.now()), groupBy: this.reportGroupBy };
  }

  private async refreshReports(): Promise<void> {
    const request = ++this.reportRequest;
    const query = this.reportQuery();
    const status = byId('report-status');
    renderReportStatus(status, { loading: true, loadedAtMs: this.reportLoadedAtMs, error: null });
    try {
      const report = await this.api.admin.dispatchReport(query);
      if (request !== this.reportRequest || this.listening.signal.aborted) return;
      this.reportLoadedAtMs = Date.now();
      renderReportTable(byId('report-table'), report.items, query.groupBy);
      this.chart.show(reportSeries(report.items, query.groupBy, query));
      renderReportStatus(status, { loading: false, loadedAtMs: this.reportLoadedAtMs, error: null });
    } catch (err) {
      if (err instanceof UnauthorizedError) return this.signOut(REFUSED);
      if (request !== this.reportRequest) return;
      // The last table and chart stay up, marked as not updated.
      renderReportStatus(status, { loading: false, loadedAtMs: this.reportLoadedAtMs, error: (err as Error).message });
    }
  }

  /** The CSV needs the token, so it is fetched here and saved from a Blob URL rather than linked to. */
  private async downloadCsv(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const query = this.reportQuery();
      const { csv, filename } = await this.api.admin.dispatchReportCsv(query);
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      const link = el('a', {
        href: url,
        download: filename ?? `dispatch-${query.groupBy}-${query.from.slice(0, 13)}.csv`,
        hidden: '',
      });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      if (err instanceof UnauthorizedError) return this.signOut(REFUSED);
      this.notice(`The CSV download failed: ${(err as Error).message}`);
    } finally {
      button.disabled = false;
    }
  }

  private async catchUp(): Promise<void> {
    try {
      const [orders, couriers, streams] = await Promise.all([
        this.allOrders(),
        this.api.couriers.list({ limit: FLEET_PAGE }),
        this.api.streams.list({ limit: 50 }),
      ]);
      this.model.reset({ orders, couriers: couriers.items, streams: streams.items });
      await this.refreshFunctions();
      this.setConnection('live');
      this.notice('');
      this.schedule();
    } catch (err) {
      if (err instanceof UnauthorizedError) return this.signOut(REFUSED);
      this.notice(`Catching up failed: ${(err as Error).message}; retrying.`);
      window.setTimeout(() => void (this.live?.connected ? this.catchUp() : undefined), 2_000);
    }
  }

  /** The newest orders, up to a thousand (the board shows the open ones and the latest closed). */
  private async allOrders(): Promise<OrderView[]> {
    const orders: OrderView[] = [];
    for await (const order of this.api.orders.each({ limit: 100 }, 1_000)) orders.push(order);
    return orders;
  }

  /** Everything missed was replayed; positions are not history, so only the couriers are fetched again. */
  private async resumed(): Promise<void> {
    try {
      this.model.resetCouriers((await this.api.couriers.list({ limit: FLEET_PAGE })).items);
    } catch {
      // the next positions bring them back
    }
    this.setConnection('live');
    this.notice('');
    this.schedule();
  }

  private async refreshFunctions(): Promise<void> {
    if (!this.live?.connected) return;
    try {
      const [functions, schedules] = await Promise.all([this.api.admin.functions(), this.api.admin.schedules()]);
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
      renderTrailBar(byId('trail-bar'), this.model);
      renderBoard(byId('board'), this.model, now);
      renderRooms(byId('rooms'), this.model.streams.values());
      renderFunctions(byId('functions'), this.model);
      renderSchedules(byId('schedules'), this.model);
    });
  }

  private signOut(message = ''): void {
    this.live?.close();
    for (const timer of this.timers) window.clearInterval(timer);
    this.timers = [];
    this.listening.abort();
    byId<HTMLDialogElement>('proof-dialog').close();
    byId('proof-photo').removeAttribute('src');
    this.chart.destroy();
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
    // Only a gateway with DEV_TOKENS=1 mints them (the embedded default).
    new MeshClient({ baseUrl: '' }).dev
      .issue({ sub: 'dashboard-dispatcher', roles: ['dispatcher'] })
      .then(begin, (err: unknown) => {
        byId('signin-error').textContent = (err as Error).message;
      });
  });
  if (saved) begin(saved);
}

void boot();
