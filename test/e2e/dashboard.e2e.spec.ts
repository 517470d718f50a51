import type { OfferView } from '@mesh/contracts';
import { RedisDispatchStore } from '@mesh/dispatch';
import { RedisConnection } from '@mesh/redis';
import { eventually, startStack, type RunningStack } from '@mesh/testing';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DispatchWorld, offset, somewhere, type Actor } from './support/dispatch-world';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', 'artifacts', 'dashboard');
/** How soon the page must show a change made through the API (the bar). */
const SHOWN_WITHIN_MS = 2_000;

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
  /** Spots far enough apart (dispatch reaches 10 km) that each scenario's couriers only see its orders. */
  const base = somewhere();
  const area = (n: number) => offset(base, n * 30_000);

  const card = (orderId: string) => page.locator(`#board article[data-order-id="${orderId}"]`);
  const onMap = (orderId: string) => page.locator(`#map [data-order-id="${orderId}"]`);
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
    const placed = await world.place(customer, { pickup: area(1), dropoff: offset(area(1), 1_500, 800) });
    const sentAt = Date.now();
    await card(placed.id).waitFor({ timeout: SHOWN_WITHIN_MS });
    await onMap(placed.id).waitFor({
      state: 'attached',
      timeout: Math.max(1, SHOWN_WITHIN_MS - (Date.now() - sentAt)),
    });
    await expect(page.locator(`#map [data-courier-id="${courier.id}"]`).count()).resolves.toBe(1);

    const offer = await courier.inbox.next('offer.created', (o: OfferView) => o.orderId === placed.id);
    expect((await courier.api('POST', `/v1/offers/${offer.offerId}/accept`)).status).toBe(200);
    await statusShown(placed.id, 'assigned');
    await screenshot('assigned');
    expect((await courier.api('POST', `/v1/orders/${placed.id}/pickup`)).status).toBe(200);
    await statusShown(placed.id, 'picked_up');
    expect((await courier.api('POST', `/v1/orders/${placed.id}/deliver`)).status).toBe(200);
    await statusShown(placed.id, 'delivered');
    await expect(page.locator('#board [data-column="done"]').textContent()).resolves.toContain(placed.id.slice(-8));
  });

  it('highlights an order nobody took, and its redispatch button sends it out again', async () => {
    const lonely = await world.place(customer, { pickup: area(2), dropoff: offset(area(2), 900) });
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
    const order = await world.place(customer, { pickup: area(3), dropoff: offset(area(3), 1_200) });
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
        const store = new RedisDispatchStore(redis);
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
    // The only errors while the gateway was away are the browser's own refused socket connections.
    expect(consoleErrors.slice(errorsBefore).filter((text) => !/WebSocket connection to .* failed/.test(text))).toEqual(
      [],
    );
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
