import { requestBudgetContract } from './request-budget.contract';
import { RequestBudget } from './request-budget';

requestBudgetContract('in-memory', (limit) =>
  Promise.resolve({ budget: RequestBudget.inMemory(limit), dispose: () => Promise.resolve() }),
);
