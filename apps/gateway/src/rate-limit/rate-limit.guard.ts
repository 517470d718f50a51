import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import { RequestBudget, budgetKey } from './request-budget';

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
