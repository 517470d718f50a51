import type { StreamView } from '@mesh/contracts';
import { el, svg } from './dom';
import { BOARD_COLUMNS, age, boardColumns, headline, type DashboardModel } from './model';
import { fitProjection, formatDistance, gridStep } from './projection';

const OPEN = new Set(['pending', 'dispatching', 'offered', 'assigned', 'picked_up', 'unassigned']);

/** The fleet map: a metric grid with a scale bar (no tiles), couriers by status, open orders as pickup → dropoff. */
export function renderMap(host: SVGSVGElement, model: DashboardModel): void {
  const width = host.clientWidth || 640;
  const height = host.clientHeight || 420;
  host.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const open = [...model.orders.values()].filter((o) => OPEN.has(o.status));
  const points = [...model.couriers.values(), ...open.flatMap((o) => [o.pickup, o.dropoff])];
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
  for (const courier of model.couriers.values()) {
    const dot = svg('circle', {
      cx: p.x(courier.lng),
      cy: p.y(courier.lat),
      r: 4,
      class: `courier ${courier.status}`,
      'data-courier-id': courier.id,
    });
    dot.append(svg('title', {}, `courier ${courier.id} · ${courier.status}`));
    nodes.push(dot);
  }
  host.replaceChildren(...nodes);
}

/** The order board, by column; unassigned orders carry a redispatch button. */
export function renderBoard(host: HTMLElement, model: DashboardModel, nowMs: number): void {
  const columns = boardColumns(model.orders.values());
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
              order.courierId ? ` · ${order.courierId}` : '',
            ),
            ...(order.status === 'unassigned'
              ? [el('button', { type: 'button', 'data-action': 'redispatch', 'data-order-id': order.id }, 'Redispatch')]
              : []),
          ),
        ),
      );
    }),
  );
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
