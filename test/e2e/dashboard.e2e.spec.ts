import type { Span } from '@mesh/client';
import { DISPATCH_REPORT_COLUMNS, type OfferView, type OrderView, type PlaceOrder } from '@mesh/contracts';
import { RedisDispatchStore } from '@mesh/dispatch';
import { RedisConnection } from '@mesh/redis';
import { eventually, oneMarket, phonePhoto, startStack, type RunningStack } from '@mesh/harness';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DispatchWorld, offset, somewhere, type Actor } from './support/dispatch-world';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', 'artifacts', 'dashboard');
/** How soon the page must show a change made through the API (the bar). */
const SHOWN_WITHIN_MS = 2_000;
const HOUR_MS = 3_600_000;
/** The reports chart's "placed" bars (#3b6fd8), as pixels on its canvas. */
const PLACED_RGB = [0x3b, 0x6f, 0xd8] as const;

/**
 * The dispatcher dashboard in Debian's Chromium (headless, driven by
 * playwright-core) against the real stack: what a dispatcher sees follows what
 * customers and couriers do, the redispatch button works, and the page comes
 * back by itself, current, after the gateway restarts.
 */
describe('dispatcher dashboard (real browser, real stack)', () => {
  let stack: RunningStack;
  let world: DispatchWorld;
  let browser: Browser;
  let page: Page;
  let customer: Actor;
  let shot = 0;
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];
  /** Every order this test placed, for what the reports must count. */
  const placedOrders: OrderView[] = [];
  /** Spots far enough apart (dispatch reaches 10 km) that each scenario's couriers only see its orders. */
  const base = somewhere();
  const area = (n: number) => offset(base, n * 30_000);

  const card = (orderId: string) => page.locator(`#board article[data-order-id="${orderId}"]`);
  const onMap = (orderId: string) => page.locator(`#map [data-order-id="${orderId}"]`);
  const place = async (order: PlaceOrder) => {
    const placed = await world.place(customer, order);
    placedOrders.push(placed);
    return placed;
  };
  const screenshot = (name: string) =>
    page.screenshot({ path: join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });

  beforeAll(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack({ DEV_TOKENS: '1', OFFER_TTL_S: '2' });
    world = new DispatchWorld(stack);
    customer = await world.actor('customer', ['customer']);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const origin = new URL(stack.baseUrl).origin;
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== origin && !request.url().startsWith('data:'))
        foreignRequests.push(request.url());
    });
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).host !== new URL(origin).host) foreignRequests.push(socket.url());
    });
  });
  afterAll(async () => {
    await browser?.close();
    world?.close();
    await stack?.stop();
  });

  it('loads signed in with a development token, and is live', async () => {
    await page.goto(`${stack.baseUrl}/dashboard`);
    await page.click('#dev-token');
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await expectText(page.locator('[data-function="dispatch"]'), /dispatch/);
    // The catalog's schedule, with its time zone and its next fire.
    await expectText(page.locator('[data-schedule="invocation-records-retention"]'), /15 3 \* \* \* UTC.*next/);
    await screenshot('signed-in');
    expect(consoleErrors).toEqual([]);
  });

  it('shows a new order on the board and the map within 2 s, then follows its courier to delivery', async () => {
    const courier = await world.courierAt(offset(area(1), 300));
    const placed = await place({ pickup: area(1), dropoff: offset(area(1), 1_500, 800) });
    const sentAt = Date.now();
    await card(placed.id).waitFor({ timeout: SHOWN_WITHIN_MS });
    await onMap(placed.id).waitFor({
      state: 'attached',
      timeout: Math.max(1, SHOWN_WITHIN_MS - (Date.now() - sentAt)),
    });
    await expect(page.locator(`#map [data-courier-id="${courier.id}"]`).count()).resolves.toBe(1);

    const offer = await courier.inbox.next('offer.created', (o: OfferView) => o.orderId === placed.id);
    expect(await courier.client.offers.accept(offer.offerId)).toMatchObject({ status: 'assigned' });
    await statusShown(placed.id, 'assigned');
    await screenshot('assigned');
    expect(await courier.client.orders.pickUp(placed.id)).toMatchObject({ status: 'picked_up' });
    await statusShown(placed.id, 'picked_up');
    expect(await courier.client.orders.deliver(placed.id)).toMatchObject({ status: 'delivered' });
    await statusShown(placed.id, 'delivered');
    await expect(page.locator('#board [data-column="done"]').textContent()).resolves.toContain(placed.id.slice(-8));
  });

  it('highlights an order nobody took, and its redispatch button sends it out again', async () => {
    const lonely = await place({ pickup: area(2), dropoff: offset(area(2), 900) });
    await statusShown(lonely.id, 'unassigned');
    await expect(
      page.locator(`#board [data-column="unassigned"] article[data-order-id="${lonely.id}"]`).count(),
    ).resolves.toBe(1);
    await screenshot('unassigned');

    // A courier comes online near it; the dispatcher sends the order out again.
    const courier = await world.courierAt(offset(area(2), 200));
    await card(lonely.id).locator('button[data-action="redispatch"]').click();
    const offer = await courier.inbox.next('offer.created', (o: OfferView) => o.orderId === lonely.id);
    expect(offer.orderId).toBe(lonely.id);
    await statusShown(lonely.id, 'offered');
    await screenshot('redispatched');
  });

  it('reconnects by itself after the gateway restarts, and shows what changed meanwhile', async () => {
    const silent = await world.courierAt(offset(area(3), 250));
    const order = await place({ pickup: area(3), dropoff: offset(area(3), 1_200) });
    await silent.inbox.next('offer.created', (o: OfferView) => o.orderId === order.id);
    await statusShown(order.id, 'offered');
    const errorsBefore = consoleErrors.length;

    const redis = new RedisConnection({
      url: String(stack.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
      keyPrefix: String(stack.env.REDIS_KEY_PREFIX),
    });
    try {
      await stack.restartGateway('SIGTERM', async () => {
        await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
        await screenshot('gateway-down');
        // While the page cannot hear anything, the unanswered offer lapses and dispatch gives the order up.
        const store = new RedisDispatchStore(redis, oneMarket());
        await eventually(async () => expect((await store.order(order.id))?.status).toBe('unassigned'), {
          timeoutMs: 30_000,
        });
      });
    } finally {
      await redis.close();
    }

    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
    await statusShown(order.id, 'unassigned');
    await screenshot('reconnected');
    // The only errors while the gateway was away are the browser's own refused connections (the socket's, and a
    // poll that left just as the gateway stopped listening).
    expect(
      consoleErrors
        .slice(errorsBefore)
        .filter((text) => !/WebSocket connection to .* failed|net::ERR_CONNECTION_REFUSED/.test(text)),
    ).toEqual([]);
  });

  it('shows a courier’s trail on the map: a short note before it has one, its delivery’s route after', async () => {
    const errorsBefore = consoleErrors.length;
    const dispatcher = await world.actor('dispatcher', ['dispatcher']);
    const courier = await world.courierAt(offset(area(4), 300));
    const trailBar = page.locator('#trail-bar');
    const trailOnMap = page.locator(`#map .trail[data-courier-id="${courier.id}"]`);

    // Picked on the map before it has been on any order: a note, and no line.
    const dot = page.locator(`#map circle.courier[data-courier-id="${courier.id}"]`);
    await dot.waitFor({ state: 'attached', timeout: 15_000 });
    await dot.click();
    await expectText(
      page.locator('#trail-bar[data-state="empty"]'),
      /has no positions on an order in the last 24 hours/,
    );
    await expect(trailOnMap.count()).resolves.toBe(0);
    await screenshot('trail-empty');
    await trailBar.locator('button[data-action="close-trail"]').click();
    await trailBar.waitFor({ state: 'hidden' });

    const order = await place({ pickup: area(4), dropoff: offset(area(4), 1_500, 800) });
    const offer = await courier.inbox.next('offer.created', (o: OfferView) => o.orderId === order.id);
    expect(await courier.client.offers.accept(offer.offerId)).toMatchObject({ status: 'assigned' });
    await statusShown(order.id, 'assigned');
    expect(await courier.client.orders.pickUp(order.id)).toMatchObject({ status: 'picked_up' });
    // It rides towards the dropoff; its positions count once the route log knows it is on the order.
    const trailSpan: Span = { from: new Date(Date.now() - HOUR_MS), to: new Date(Date.now() + 10 * 60_000) };
    let step = 0;
    const kept = await eventually(
      async () => {
        step += 1;
        const spot = offset(area(4), 100 * (1 + (step % 15)), 60 * (1 + (step % 15)));
        await courier.client.couriers.reportLocation(spot);
        const trail = await dispatcher.client.admin.courierTrail(courier.id, trailSpan);
        expect(trail.geometry?.type).toBe('LineString');
        expect(trail.properties.times.length).toBeGreaterThanOrEqual(3);
        return trail.properties.times.length;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(await courier.client.orders.deliver(order.id)).toMatchObject({ status: 'delivered' });
    await statusShown(order.id, 'delivered');

    // Picked on the board, by the courier on its delivered order: the route it rode, as a line on the map.
    await card(order.id).locator(`button[data-action="trail"][data-courier-id="${courier.id}"]`).click();
    const line = trailOnMap.locator('polyline');
    await line.waitFor({ state: 'attached', timeout: 15_000 });
    expect(((await line.getAttribute('points')) ?? '').trim().split(/\s+/).length).toBeGreaterThanOrEqual(kept);
    await expectText(
      page.locator('#trail-bar[data-state="shown"]'),
      new RegExp(`Trail of courier ${courier.id}: \\d+ positions on 1 order`),
    );
    // Framed on the trail (on the map's next frame), so it is a line a dispatcher sees, not a dot.
    await eventually(async () => {
      const box = await line.boundingBox();
      expect(Math.max(box?.width ?? 0, box?.height ?? 0)).toBeGreaterThan(50);
    });
    await screenshot('trail');
    await trailBar.locator('button[data-action="close-trail"]').click();
    await trailBar.waitFor({ state: 'hidden' });
    await expect(page.locator('#map .trail').count()).resolves.toBe(0);
    expect(consoleErrors.slice(errorsBefore)).toEqual([]);
  });

  it('shows a delivered order’s proof photo as a thumbnail on its card, and the full photo when it is clicked', async () => {
    const errorsBefore = consoleErrors.length;
    const courier = await world.courierAt(offset(area(5), 300));
    const order = await place({ pickup: area(5), dropoff: offset(area(5), 1_000, 500) });
    const offer = await courier.inbox.next('offer.created', (o: OfferView) => o.orderId === order.id);
    expect(await courier.client.offers.accept(offer.offerId)).toMatchObject({ status: 'assigned' });
    expect(await courier.client.orders.pickUp(order.id)).toMatchObject({ status: 'picked_up' });
    expect(await courier.client.orders.deliver(order.id)).toMatchObject({ status: 'delivered' });
    await statusShown(order.id, 'delivered');

    // The courier sends the photo (1200 × 800, EXIF orientation 6: 800 × 1200 upright).
    const proved = await courier.client.orders.uploadProof(order.id, {
      data: await phonePhoto(),
      contentType: 'image/jpeg',
    });
    expect(proved.proof?.status).toBe('processing');

    // Once processed, its card shows the thumbnail, loaded: at most 128 px, fetched without the bearer token.
    const thumb = card(order.id).locator('button[data-action="proof"] img.proof-thumb');
    await thumb.waitFor({ state: 'attached', timeout: 30_000 });
    await thumb.scrollIntoViewIfNeeded();
    expect(await thumb.getAttribute('src')).toMatch(
      new RegExp(`^/v1/orders/${order.id}/proof/[0-9A-Z]{26}/w128\\.webp\\?token=`),
    );
    expect(await thumb.getAttribute('alt')).toMatch(/proof-of-delivery photo/i);
    expect(await thumb.getAttribute('loading')).toBe('lazy');
    // How the browser decoded an <img> (this file has no DOM types: the node is described, not named).
    const natural = (img: ReturnType<Page['locator']>) =>
      img.evaluate((node) => {
        const image = node as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number };
        return { complete: image.complete, width: image.naturalWidth, height: image.naturalHeight };
      });
    const small = await eventually(
      async () => {
        const size = await natural(thumb);
        expect(size.complete).toBe(true);
        expect(size.width).toBeGreaterThan(0);
        return size;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(Math.max(small.width, small.height)).toBeLessThanOrEqual(128);
    // Portrait, as the photo stands upright.
    expect(small.height).toBeGreaterThan(small.width);
    await screenshot('proof-thumbnail');

    // Clicked: the full photo in a dialog over the page, upright and full size; Escape closes it.
    const dialog = page.locator('#proof-dialog');
    const photo = dialog.locator('#proof-photo');
    await card(order.id).locator('button[data-action="proof"]').click();
    await page.locator('#proof-dialog[open]').waitFor({ timeout: 5_000 });
    expect(await photo.getAttribute('src')).toMatch(
      new RegExp(`^/v1/orders/${order.id}/proof/[0-9A-Z]{26}/photo\\.jpg\\?token=`),
    );
    const full = await eventually(
      async () => {
        const size = await natural(photo);
        expect(size.complete).toBe(true);
        expect(size.width).toBeGreaterThan(0);
        return size;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(full).toEqual({ complete: true, width: 800, height: 1200 });
    await page.locator('#proof-dialog[data-state="shown"]').waitFor({ timeout: 5_000 });
    await screenshot('proof-photo');
    await page.keyboard.press('Escape');
    await page.locator('#proof-dialog:not([open])').waitFor({ state: 'attached', timeout: 5_000 });
    // The dialog's `close` event (which lets the photo go) comes a task after it closed.
    await eventually(async () => expect(await photo.getAttribute('src')).toBeNull(), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(consoleErrors.slice(errorsBefore)).toEqual([]);
  });

  it('reports the orders of each hour in a table and a chart, and downloads them as CSV', async () => {
    const errorsBefore = consoleErrors.length;
    const expected = new Map<string, number>();
    for (const order of placedOrders) {
      const hour = new Date(Math.floor(Date.parse(order.createdAt) / HOUR_MS) * HOUR_MS).toISOString();
      expected.set(hour, (expected.get(hour) ?? 0) + 1);
    }
    expect(placedOrders.length).toBeGreaterThanOrEqual(4);
    const placedIn = (hour: string) =>
      page.locator(`#report-table table[data-group-by="hour"] tr[data-key="${hour}"] td[data-col="placed"]`);

    // The route log is written behind the live events: the dispatcher flips the grouping until the counts are in.
    await eventually(
      async () => {
        await showReport('hour');
        for (const [hour, placed] of expected) await expect(placedIn(hour).textContent()).resolves.toBe(String(placed));
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await eventually(
      async () => {
        await showReport('area');
        const perArea = await page
          .locator('#report-table table[data-group-by="area"] td[data-col="placed"]')
          .allTextContents();
        // Each scenario's spot is its own H3 cell.
        expect(perArea.length).toBeGreaterThanOrEqual(4);
        expect(perArea.reduce((sum, n) => sum + Number(n), 0)).toBe(placedOrders.length);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await showReport('hour');

    // The chart is drawn: its canvas has the placed bars on it, in their colour.
    await eventually(
      async () => {
        await expect(
          page.evaluate<number>(`(() => {
            const canvas = document.querySelector('#report-chart');
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 0; i < data.length; i += 4)
              if (data[i] === ${PLACED_RGB[0]} && data[i + 1] === ${PLACED_RGB[1]} && data[i + 2] === ${PLACED_RGB[2]}) n++;
            return n;
          })()`),
        ).resolves.toBeGreaterThan(1_500);
      },
      { timeoutMs: 10_000 },
    );
    await page.locator('#reports').screenshot({ path: join(SHOTS, `${String(++shot).padStart(2, '0')}-reports.png`) });

    // The CSV is fetched with the token and saved as the file the gateway named.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-csv')]);
    expect(download.suggestedFilename()).toMatch(/^dispatch-hour-.+\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(csv[0]).toBe(DISPATCH_REPORT_COLUMNS.join(','));
    for (const [hour, placed] of expected) expect(csv).toContainEqual(expect.stringMatching(`^${hour},${placed},`));
    expect(consoleErrors.slice(errorsBefore)).toEqual([]);
  });

  it('fits a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(
      page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).resolves.toBeLessThanOrEqual(0);
    await screenshot('phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('raised no page errors and asked nothing of any other origin', () => {
    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  /** Flips the reports to `groupBy` (away and back if it is on it already, so it is read again) and waits for it. */
  async function showReport(groupBy: 'hour' | 'area'): Promise<void> {
    const toggle = (g: string) => page.locator(`#reports button[data-group-by="${g}"]`);
    if ((await toggle(groupBy).getAttribute('aria-pressed')) === 'true')
      await toggle(groupBy === 'hour' ? 'area' : 'hour').click();
    await toggle(groupBy).click();
    await page.locator('#report-status[data-state="loaded"]').waitFor({ timeout: 10_000 });
    await page.locator(`#report-table :is(table[data-group-by="${groupBy}"], p.empty)`).waitFor({ timeout: 1_000 });
  }

  async function statusShown(orderId: string, status: string): Promise<void> {
    await page
      .locator(`#board article[data-order-id="${orderId}"][data-status="${status}"]`)
      .waitFor({ timeout: 15_000 });
  }
});

async function expectText(locator: ReturnType<Page['locator']>, pattern: RegExp): Promise<void> {
  await locator.waitFor({ timeout: 15_000 });
  expect(await locator.textContent()).toMatch(pattern);
}
