import { ProblemError } from '@mesh/problem';
import { RedisConnection } from '@mesh/redis';
import { REDIS_TOPOLOGIES, isolatedRedis, uniqueName } from '@mesh/harness';
import { requestBudgetContract } from './request-budget.contract';
import { RequestBudget } from './request-budget';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const topology of REDIS_TOPOLOGIES) {
  requestBudgetContract(`Redis (${topology.name})`, (limit) => {
    const redis = isolatedRedis(topology);
    return Promise.resolve({ budget: RequestBudget.onRedis(redis, limit), dispose: () => redis.close() });
  });
}

describe('RequestBudget on Redis', () => {
  const connections: RedisConnection[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
  });
  const connect = (connectionUrl: string, keyPrefix: string) => {
    const connection = new RedisConnection({ url: connectionUrl, keyPrefix });
    connections.push(connection);
    return connection;
  };
  const refused = (budget: RequestBudget, who: string) =>
    budget.spend(who).then(
      () => false,
      (err: unknown) => err instanceof ProblemError && err.status === 429,
    );

  it('is one budget across gateways: what one replica counted, the other refuses', async () => {
    const prefix = `${uniqueName('t')}:`;
    const limit = { requests: 4, windowS: 60 };
    const [a, b] = [
      RequestBudget.onRedis(connect(url, prefix), limit),
      RequestBudget.onRedis(connect(url, prefix), limit),
    ];
    const who = uniqueName('user');
    for (let i = 0; i < 2; i++) {
      expect(await refused(a, who)).toBe(false);
      expect(await refused(b, who)).toBe(false);
    }
    expect(await refused(a, who)).toBe(true);
    expect(await refused(b, who)).toBe(true);
  });

  it('goes on counting in memory while Redis does not answer: neither a flood let through nor everyone refused', async () => {
    // Nothing listens on port 1.
    const budget = RequestBudget.onRedis(connect('redis://127.0.0.1:1', 'down:'), { requests: 3, windowS: 60 });
    const who = uniqueName('user');
    for (let i = 0; i < 3; i++) expect(await refused(budget, who)).toBe(false);
    expect(await refused(budget, who)).toBe(true);
  });
});
