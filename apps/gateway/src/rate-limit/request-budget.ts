import type { AppConfig } from '@mesh/config';
import { ProblemCode, ProblemError } from '@mesh/problem';
import type { RedisConnection } from '@mesh/redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * The budget socket events are charged to: counted in the memory of the gateway that
 * holds the socket (a socket stays on one gateway), so the hottest event, a courier's
 * position, costs no Redis round trip for it.
 */
export const SOCKET_EVENT_BUDGET = Symbol('SocketEventBudget');

/**
 * The budget of callers without a valid token, per IP address, counted in each
 * gateway's memory: requests without a token, and those whose token was refused.
 */
export const ANONYMOUS_BUDGET = Symbol('AnonymousBudget');

/** The budget's keys (under the connection's prefix): `ratelimit:<who>`. */
const KEY_PREFIX = 'ratelimit';

/**
 * How many requests (or socket events) each user may make per window (fixed windows,
 * rate-limiter-flexible). On Redis the count is shared by every gateway replica; the
 * embedded default counts in memory. Past the budget a call is refused with 429 and
 * the seconds until the window turns.
 */
export abstract class RequestBudget {
  /** Spends one unit of `who`'s budget; throws a 429 problem (with Retry-After) when none is left. */
  abstract spend(who: string): Promise<void>;

  static inMemory(limit: AppConfig['rateLimit']): RequestBudget {
    if (limit.requests === 0) return new UnlimitedBudget();
    return new LimiterBudget(new RateLimiterMemory(options(limit)));
  }

  /**
   * Counts in Redis; should Redis not answer, each gateway goes on counting in its own
   * memory, so a Redis outage neither lets floods through nor refuses everyone.
   */
  static onRedis(redis: RedisConnection, limit: AppConfig['rateLimit']): RequestBudget {
    if (limit.requests === 0) return new UnlimitedBudget();
    return new LimiterBudget(
      new RateLimiterRedis({
        ...options(limit),
        storeClient: redis.client,
        // Redis is asked only while the user has budget; once spent, this gateway refuses from memory until the window turns.
        inMemoryBlockOnConsumed: limit.requests + 1,
        insuranceLimiter: new RateLimiterMemory(options(limit)),
      }),
    );
  }
}

/** A user's key in a budget: one per user, whichever token or socket they come with. */
export const budgetKey = (sub: string) => `user:${sub}`;

/** An address's key in the anonymous budget. */
export const addressKey = (address: string | undefined) => `ip:${address ?? 'unknown'}`;

function options({ requests, windowS }: AppConfig['rateLimit']) {
  return { keyPrefix: KEY_PREFIX, points: requests, duration: windowS };
}

class LimiterBudget extends RequestBudget {
  constructor(private readonly limiter: RateLimiterAbstract) {
    super();
  }

  async spend(who: string): Promise<void> {
    try {
      await this.limiter.consume(who);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw tooManyRequests(refusal.msBeforeNext);
    }
  }
}

class UnlimitedBudget extends RequestBudget {
  spend(): Promise<void> {
    return Promise.resolve();
  }
}

function tooManyRequests(msBeforeNext: number): ProblemError {
  const retryAfterS = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new ProblemError(
    ProblemCode.TooManyRequests,
    `You have made too many requests; try again in ${retryAfterS} s.`,
    undefined,
    { 'Retry-After': String(retryAfterS) },
  );
}
