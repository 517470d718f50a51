import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import { RequestBudget } from './request-budget';

/**
 * Charges every authenticated HTTP request to its user's budget (429 with Retry-After
 * past it). Runs after JwtAuthGuard; public routes (probes, metrics, docs) are not charged.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly budget: RequestBudget) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const { principal } = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    if (principal) await this.budget.spend(budgetKey(principal.sub));
    return true;
  }
}

/** A user's key in a budget: one per user, whichever token or socket they come with. */
export const budgetKey = (sub: string) => `user:${sub}`;
