import type { DispatchReportRow, OrderView, StreamView } from '@mesh/contracts';
import { el, svg } from './dom';
import {
  BOARD_COLUMNS,
  age,
  boardColumns,
  formatMetres,
  formatSeconds,
  headline,
  proofShown,
  reportKeyLabel,
  reportRows,
  spansDays,
  withoutToken,
  type DashboardModel,
  type ReportGroupBy,
} from './model';
import { fitProjection, formatDistance, gridStep, svgPoints } from './projection';

const OPEN = new Set(['pending', 'dispatching', 'offered', 'assigned', 'picked_up', 'unassigned']);

/**
 * The fleet map: a metric grid with a scale bar (no tiles), couriers by status,
 * open orders as pickup → dropoff. With a courier's trail shown, the map frames
 * that trail (and where the courier is now) instead of the whole fleet.
 */
export function renderMap(host: SVGSVGElement, model: DashboardModel): void {
  const width = host.clientWidth || 640;
  const height = host.clientHeight || 420;
  host.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const open = [...model.orders.values()].filter((o) => OPEN.has(o.status));
  const trail = model.trail && !model.trail.loading ? model.trail : null;
  const trailed = trail?.positions ?? [];
  const followed = trail ? model.couriers.get(trail.courierId) : undefined;
  const points = trailed.length
    ? [...trailed, ...(followed ? [followed] : [])]
    : [...model.couriers.values(), ...open.flatMap((o) => [o.pickup, o.dropoff])];
  const p = fitProjection(points, width, height);
  const step = gridStep(p.widthM);
  const nodes: SVGElement[] = [];
  const stepPx = step * p.scale;
  for (let x = (width / 2) % stepPx; x < width; x += stepPx)
    nodes.push(svg('line', { x1: x, y1: 0, x2: x, y2: height, class: 'grid' }));
  for (let y = (height / 2) % stepPx; y < height; y += stepPx)
    nodes.push(svg('line', { x1: 0, y1: y, x2: width, y2: y, class: 'grid' }));
  nodes.push(
    svg('line', { x1: 12, y1: height - 14, x2: 12 + stepPx, y2: height - 14, class: 'scale' }),
    svg('text', { x: 12, y: height - 20, class: 'scale-label' }, formatDistance(step)),
  );
  for (const order of open) {
    const g = svg('g', { class: `order ${order.status}`, 'data-order-id': order.id });
    g.append(
      svg('line', {
        x1: p.x(order.pickup.lng),
        y1: p.y(order.pickup.lat),
        x2: p.x(order.dropoff.lng),
        y2: p.y(order.dropoff.lat),
      }),
      svg('rect', { x: p.x(order.pickup.lng) - 4, y: p.y(order.pickup.lat) - 4, width: 8, height: 8 }),
      svg('circle', { cx: p.x(order.dropoff.lng), cy: p.y(order.dropoff.lat), r: 4 }),
    );
    g.append(svg('title', {}, `order ${order.id} · ${order.status}`));
    nodes.push(g);
  }
  if (trail && trailed.length) {
    const first = trailed[0]!;
    const last = trailed.at(-1)!;
    const g = svg('g', { class: 'trail', 'data-courier-id': trail.courierId });
    if (trailed.length > 1) g.append(svg('polyline', { points: svgPoints(trailed, p) }));
    g.append(
      svg('circle', { class: 'trail-start', cx: p.x(first.lng), cy: p.y(first.lat), r: 3 }),
      svg('circle', { class: 'trail-end', cx: p.x(last.lng), cy: p.y(last.lat), r: 5 }),
      svg('title', {}, `trail of courier ${trail.courierId} · ${trailed.length} positions`),
    );
    nodes.push(g);
  }
  for (const courier of model.couriers.values()) {
    const dot = svg('circle', {
      cx: p.x(courier.lng),
      cy: p.y(courier.lat),
      r: 4,
      class: `courier ${courier.status}${courier.id === model.trail?.courierId ? ' selected' : ''}`,
      'data-courier-id': courier.id,
    });
    dot.append(svg('title', {}, `courier ${courier.id} · ${courier.status}`));
    nodes.push(dot);
  }
  host.replaceChildren(...nodes);
}

/**
 * The order board, by column; unassigned orders carry a redispatch button, and
 * orders with a proof-of-delivery photo its thumbnail (a button that opens it) or
 * how it is coming along.
 */
export function renderBoard(host: HTMLElement, model: DashboardModel, nowMs: number): void {
  const columns = boardColumns(model.orders.values());
  const thumbnails = shownThumbnails(host);
  host.replaceChildren(
    ...BOARD_COLUMNS.map((column) => {
      const orders = columns[column.key];
      return el(
        'section',
        { class: `column ${column.key}`, 'data-column': column.key },
        el('h2', {}, `${column.title} `, el('span', { class: 'count' }, String(orders.length))),
        ...orders.map((order) =>
          el(
            'article',
            { class: `card ${order.status}`, 'data-order-id': order.id, 'data-status': order.status },
            el(
              'div',
              { class: 'card-head' },
              el('code', {}, order.id.slice(-8)),
              el('span', { class: 'status' }, order.status.replace('_', ' ')),
            ),
            el(
              'div',
              { class: 'card-meta' },
              `${age(order.createdAt, nowMs)} old · ${order.attempts} attempt${order.attempts === 1 ? '' : 's'}`,
              ...(order.courierId
                ? [
                    ' · ',
                    el(
                      'button',
                      {
                        type: 'button',
                        class: 'courier-link',
                        'data-action': 'trail',
                        'data-courier-id': order.courierId,
                        title: 'Show this courier’s trail on the map',
                      },
                      order.courierId,
                    ),
                  ]
                : []),
            ),
            ...proofPart(order, thumbnails),
            ...(order.status === 'unassigned'
              ? [el('button', { type: 'button', 'data-action': 'redispatch', 'data-order-id': order.id }, 'Redispatch')]
              : []),
          ),
        ),
      );
    }),
  );
}

/**
 * The thumbnails on the board now, by picture (URL without its token): the board
 * is drawn again every second, and a thumbnail moved into the new card is not
 * fetched (or decoded) again.
 */
function shownThumbnails(host: HTMLElement): Map<string, HTMLImageElement> {
  const shown = new Map<string, HTMLImageElement>();
  for (const img of host.querySelectorAll<HTMLImageElement>('img.proof-thumb')) {
    const src = img.getAttribute('src');
    if (src) shown.set(withoutToken(src), img);
  }
  return shown;
}

/** An order's proof photo on its card: the thumbnail as a button that opens the photo, or a label. */
function proofPart(order: OrderView, thumbnails: Map<string, HTMLImageElement>): HTMLElement[] {
  const shown = proofShown(order.proof);
  if (!shown) return [];
  if (shown.kind === 'label') {
    return [
      el(
        'div',
        { class: 'card-proof', 'data-proof': shown.state, ...(shown.title !== null ? { title: shown.title } : {}) },
        shown.text,
      ),
    ];
  }
  const known = thumbnails.get(withoutToken(shown.thumbnailUrl));
  // A thumbnail that failed is fetched again only with another URL (a fresh token), not every second.
  const broken = known !== undefined && known.complete && known.naturalWidth === 0;
  const img =
    known && (!broken || known.getAttribute('src') === shown.thumbnailUrl)
      ? known
      : el('img', {
          class: 'proof-thumb',
          src: shown.thumbnailUrl,
          alt: `Proof-of-delivery photo of order ${order.id.slice(-8)}`,
          loading: 'lazy',
          decoding: 'async',
          width: '64',
          height: '64',
        });
  return [
    el(
      'div',
      { class: 'card-proof', 'data-proof': 'ready' },
      el(
        'button',
        {
          type: 'button',
          class: 'proof-open',
          'data-action': 'proof',
          'data-order-id': order.id,
          title: 'Open the full photo',
          'aria-haspopup': 'dialog',
        },
        img,
      ),
    ),
  ];
}

/** What the map's trail shows, or why it shows none; its close button ends it. */
export function renderTrailBar(host: HTMLElement, model: DashboardModel): void {
  const trail = model.trail;
  host.hidden = trail === null;
  if (!trail) {
    host.replaceChildren();
    delete host.dataset.state;
    return;
  }
  const who = el('code', {}, trail.courierId);
  const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const n = trail.positions.length;
  const orders = trail.orderIds.length;
  const [state, ...text]: [string, ...(Node | string)[]] = trail.loading
    ? ['loading', 'Loading the trail of courier ', who, '…']
    : trail.error !== null
      ? ['failed', 'The trail of courier ', who, ` could not be loaded: ${trail.error}`]
      : n === 0
        ? ['empty', 'Courier ', who, ' has no positions on an order in the last 24 hours.']
        : [
            'shown',
            'Trail of courier ',
            who,
            `: ${n} position${n === 1 ? '' : 's'} on ${orders} order${orders === 1 ? '' : 's'}`,
            trail.from && trail.to ? `, ${time(trail.from)}–${time(trail.to)}.` : '.',
          ];
  host.dataset.state = state;
  host.replaceChildren(
    el('span', {}, ...text),
    el('button', { type: 'button', 'data-action': 'close-trail', 'aria-label': 'Close the trail' }, 'Close'),
  );
}

const REPORT_COLUMNS: readonly {
  key: keyof DispatchReportRow;
  title: string;
  format: (row: DispatchReportRow) => string;
}[] = [
  { key: 'placed', title: 'Placed', format: (r) => String(r.placed) },
  { key: 'delivered', title: 'Delivered', format: (r) => String(r.delivered) },
  { key: 'cancelled', title: 'Cancelled', format: (r) => String(r.cancelled) },
  { key: 'unassigned', title: 'Unassigned', format: (r) => String(r.unassigned) },
  { key: 'dispatchP50S', title: 'Dispatch p50', format: (r) => formatSeconds(r.dispatchP50S) },
  { key: 'dispatchP95S', title: 'Dispatch p95', format: (r) => formatSeconds(r.dispatchP95S) },
  { key: 'dispatchP99S', title: 'Dispatch p99', format: (r) => formatSeconds(r.dispatchP99S) },
  { key: 'toPickupP50S', title: 'To pick-up p50', format: (r) => formatSeconds(r.toPickupP50S) },
  { key: 'toDeliveryP50S', title: 'To delivery p50', format: (r) => formatSeconds(r.toDeliveryP50S) },
  { key: 'distanceMPerDelivery', title: 'Distance / delivery', format: (r) => formatMetres(r.distanceMPerDelivery) },
];

/** Every row of a dispatch report: hours in the dispatcher's time (the UTC key in `datetime`), or H3 cells. */
export function renderReportTable(host: HTMLElement, rows: readonly DispatchReportRow[], groupBy: ReportGroupBy): void {
  if (rows.length === 0) {
    host.replaceChildren(el('p', { class: 'empty' }, 'No orders were placed in this span.'));
    return;
  }
  const ordered = reportRows(rows, groupBy);
  const withDate = groupBy === 'hour' && spansDays(ordered.map((r) => r.key));
  const keyCell = (row: DispatchReportRow) =>
    groupBy === 'hour'
      ? el('time', { datetime: row.key }, reportKeyLabel(row.key, groupBy, withDate))
      : el('code', {}, row.key);
  host.replaceChildren(
    el(
      'table',
      { class: 'report', 'data-group-by': groupBy },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, groupBy === 'hour' ? 'Hour' : 'Area (H3)'),
          ...REPORT_COLUMNS.map((c) => el('th', { scope: 'col' }, c.title)),
        ),
      ),
      el(
        'tbody',
        {},
        ...ordered.map((row) =>
          el(
            'tr',
            { 'data-key': row.key },
            el('th', { scope: 'row' }, keyCell(row)),
            ...REPORT_COLUMNS.map((c) => el('td', { 'data-col': c.key }, c.format(row))),
          ),
        ),
      ),
    ),
  );
}

/** When the report was last read, or why it could not be. */
export function renderReportStatus(
  host: HTMLElement,
  status: { loading: boolean; loadedAtMs: number | null; error: string | null },
): void {
  host.dataset.state = status.error !== null ? 'failed' : status.loading ? 'loading' : 'loaded';
  host.textContent =
    status.error !== null
      ? `Not updated: ${status.error}`
      : status.loading
        ? 'updating…'
        : status.loadedAtMs !== null
          ? `updated ${new Date(status.loadedAtMs).toLocaleTimeString()}`
          : '';
}

export function renderHeadline(host: HTMLElement, model: DashboardModel, nowMs: number): void {
  const h = headline(model, nowMs);
  const figure = (key: string, label: string, value: string) =>
    el('div', { class: 'figure', 'data-figure': key }, el('strong', {}, value), el('span', {}, label));
  host.replaceChildren(
    figure('orders-per-min', 'orders / min', String(h.ordersPerMin)),
    figure('dispatch-p95', 'dispatch p95', h.dispatchP95S === null ? '—' : `${h.dispatchP95S.toFixed(2)} s`),
    figure('available', 'couriers available', String(h.available)),
    figure('busy', 'couriers busy', String(h.busy)),
    figure('replicas', 'function replicas', String(h.replicas)),
    figure('lag', 'consumer lag', String(h.lag)),
  );
}

export function renderRooms(host: HTMLElement, streams: Iterable<StreamView>): void {
  const rows = [...streams].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  host.replaceChildren(
    ...(rows.length === 0
      ? [el('p', { class: 'empty' }, 'No live rooms.')]
      : rows.map((s) =>
          el(
            'div',
            { class: `room ${s.status}`, 'data-stream-id': s.id },
            el('span', { class: 'status' }, s.status),
            el('span', { class: 'title' }, s.title),
            el('span', { class: 'meta' }, `${s.participants.length} on · ${s.layout}`),
            ...(s.error ? [el('span', { class: 'error' }, s.error)] : []),
          ),
        )),
  );
}

export function renderFunctions(host: HTMLElement, model: DashboardModel): void {
  host.replaceChildren(
    ...model.functions.map((f) =>
      el(
        'div',
        { class: 'fn', 'data-function': f.function },
        el('span', { class: 'name' }, f.function),
        el('span', {}, `${f.replicas} repl.`),
        el('span', {}, `lag ${f.lag}`),
        el('span', {}, `${f.errorsPerMin.toFixed(1)} err/min`),
      ),
    ),
  );
}

/** The schedules: when each last fired and how that went, and when it fires next. */
export function renderSchedules(host: HTMLElement, model: DashboardModel): void {
  const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  host.replaceChildren(
    ...model.schedules.map((s) =>
      el(
        'div',
        { class: `fn schedule ${s.lastFire?.outcome ?? 'never'}`, 'data-schedule': s.name },
        el('span', { class: 'name' }, s.name),
        el('span', {}, s.cron ? `${s.cron} ${s.timeZone}` : `every ${s.intervalS} s`),
        el('span', {}, s.lastFire ? `last ${time(s.lastFire.at)} ${s.lastFire.outcome}` : 'never fired'),
        el('span', {}, `next ${time(s.nextFireAt)}`),
      ),
    ),
  );
}
