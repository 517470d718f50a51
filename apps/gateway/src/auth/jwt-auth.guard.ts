import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtVerifier } from '@mesh/auth';
import type { Principal, Role } from '@mesh/contracts';
import { problems } from '@mesh/problem';
import { ANONYMOUS_BUDGET, RequestBudget, addressKey } from '../rate-limit/request-budget';
import { PUBLIC_ROUTE, REQUIRED_ROLES, type AuthenticatedRequest } from './auth.decorators';

/**
 * Every HTTP route needs a valid bearer token unless marked @Public(); @Roles()
 * narrows who may call it. A refused token is charged to its address's anonymous
 * budget, so guessing tokens is throttled like any unauthenticated traffic (429).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly reflector: Reflector,
    @Inject(ANONYMOUS_BUDGET) private readonly anonymous: RequestBudget,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(req.header('authorization'));
    const principal = await this.verifier.verify(token).catch(async (refused: unknown) => {
      // Requests without any token were charged on the way in (anonymousRequests).
      if (token !== undefined) await this.anonymous.spend(addressKey(req.socket.remoteAddress));
      throw refused;
    });
    req.principal = principal;
    requireRole(principal, this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets));
    return true;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

export function requireRole(principal: Principal, roles: readonly Role[] | undefined): void {
  if (roles && roles.length > 0 && !roles.some((role) => principal.roles.includes(role))) {
    throw problems.forbidden(`This needs the role ${roles.join(' or ')}.`);
  }
}
