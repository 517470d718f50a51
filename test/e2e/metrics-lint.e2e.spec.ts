import { REPO_ROOT, startStack, type RunningStack } from '@mesh/harness';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DispatchWorld, offset, somewhere } from './support/dispatch-world';

/** What `promtool check metrics` says of a page: its linter (client_golang's promlint), built by tools:install. */
function lint(page: string): string {
  const run = spawnSync(join(REPO_ROOT, '.tools', 'bin', 'promlint'), { input: page, encoding: 'utf8' });
  if (run.error) throw run.error;
  if (run.status === 2) throw new Error(`promlint could not read the page: ${run.stderr}`);
  return run.stdout;
}

/** The metrics pages Prometheus scrapes pass Prometheus' own linter, with traffic through them. */
describe('/metrics (real stack)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it('passes promtool’s checks on the gateway and the functions, after an order went through', async () => {
    const world = new DispatchWorld(stack);
    try {
      const pickup = somewhere();
      const customer = await world.actor('customer', ['customer']);
      const courier = await world.courierAt(offset(pickup, 100));
      const order = await world.place(customer, { pickup, dropoff: offset(pickup, 800) });
      await courier.inbox.next('offer.created', (o) => o.orderId === order.id);
    } finally {
      world.close();
    }
    for (const url of [stack.baseUrl, stack.functionsUrl]) {
      const page = await (await fetch(`${url}/metrics`)).text();
      expect(page).toContain('# TYPE');
      expect([url, lint(page)]).toEqual([url, '']);
    }
  });
});
