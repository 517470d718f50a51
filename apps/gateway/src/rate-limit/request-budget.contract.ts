import { ProblemCode, ProblemError } from '@mesh/problem';
import { eventually, uniqueName } from '@mesh/harness';
import type { RequestBudget } from './request-budget';

export interface BudgetLimit {
  requests: number;
  windowS: number;
}

/** What every RequestBudget adapter must do; run against the in-memory and the Redis one. */
export function requestBudgetContract(
  name: string,
  open: (limit: BudgetLimit) => Promise<{ budget: RequestBudget; dispose: () => Promise<void> }>,
): void {
  describe(`RequestBudget contract (${name})`, () => {
    const disposers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(disposers.splice(0).map((dispose) => dispose()));
    });
    async function budgetOf(limit: BudgetLimit): Promise<RequestBudget> {
      const { budget, dispose } = await open(limit);
      disposers.push(dispose);
      return budget;
    }
    /** The refusal a spend ends with, or null when it was allowed. */
    const refusal = (budget: RequestBudget, who: string) =>
      budget.spend(who).then(
        () => null,
        (err: unknown) => err,
      );

    it('lets a user make the window’s requests, then refuses with a 429 problem naming when to retry', async () => {
      const budget = await budgetOf({ requests: 3, windowS: 60 });
      const who = uniqueName('user');
      for (let i = 0; i < 3; i++) expect(await refusal(budget, who)).toBeNull();
      const refused = await refusal(budget, who);
      expect(refused).toBeInstanceOf(ProblemError);
      const problem = refused as ProblemError;
      expect(problem.code).toBe(ProblemCode.TooManyRequests);
      expect(problem.status).toBe(429);
      const retryAfter = Number(problem.headers['Retry-After']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(problem.detail).toContain(`${retryAfter} s`);
      // Refused again while the window lasts.
      expect(await refusal(budget, who)).toBeInstanceOf(ProblemError);
    });

    it('counts each user on their own', async () => {
      const budget = await budgetOf({ requests: 2, windowS: 60 });
      const [flooder, neighbour] = [uniqueName('user'), uniqueName('user')];
      for (let i = 0; i < 5; i++) await refusal(budget, flooder);
      expect(await refusal(budget, flooder)).toBeInstanceOf(ProblemError);
      expect(await refusal(budget, neighbour)).toBeNull();
      expect(await refusal(budget, neighbour)).toBeNull();
    });

    it('gives the budget back when the window turns', async () => {
      const budget = await budgetOf({ requests: 1, windowS: 1 });
      const who = uniqueName('user');
      expect(await refusal(budget, who)).toBeNull();
      expect(await refusal(budget, who)).toBeInstanceOf(ProblemError);
      await eventually(async () => expect(await refusal(budget, who)).toBeNull(), { timeoutMs: 3_000 });
    });

    it('never refuses when the limit is 0 (off)', async () => {
      const budget = await budgetOf({ requests: 0, windowS: 1 });
      const who = uniqueName('user');
      const refusals = await Promise.all(Array.from({ length: 500 }, () => refusal(budget, who)));
      expect(refusals.filter((r) => r !== null)).toEqual([]);
    });
  });
}
