import { isRedisUnavailable } from '@mesh/redis';
import type { Logger } from '@mesh/telemetry';

/**
 * What a service does with a promise that failed with nobody awaiting it.
 *
 * One kind is expected in a service that outlives its dependencies: a Redis command
 * issued by a library on its own account (a connection's housekeeping, a broadcast
 * it does not await), failing because its node died. It changed nothing, and the
 * work that matters retries on its own; a fault run saw a functions process killed
 * by one in a Redis master failover, stopping dispatch until it was restarted.
 * That is logged and the process carries on. Anything else is a bug: thrown again,
 * so the process stops as Node's default would (its state is not to be trusted).
 */
export function onUnhandledRejection(logger: Logger): (reason: unknown) => void {
  return (reason) => {
    if (isRedisUnavailable(reason)) {
      logger.warn({ err: reason }, 'a Redis command nobody awaited failed while Redis was away; carrying on');
      return;
    }
    logger.fatal({ err: reason }, 'unhandled rejection');
    throw reason;
  };
}
