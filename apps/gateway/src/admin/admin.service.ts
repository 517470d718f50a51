import { Injectable } from '@nestjs/common';
import { EventBus } from '@mesh/bus';
import {
  FUNCTION_CATALOG,
  TOPICS,
  functionGroup,
  type ActivationQuery,
  type FunctionHealthList,
} from '@mesh/contracts';
import { InvocationLedger, type InvocationRecord } from '@mesh/invocations';

const WINDOW_MS = 5 * 60_000;
/** Most records read per function for the rates; beyond it the rate is reported as at least this. */
const MAX_RECORDS = 5_000;

@Injectable()
export class AdminService {
  constructor(
    private readonly bus: EventBus,
    private readonly ledger: InvocationLedger,
  ) {}

  async activations(query: ActivationQuery): Promise<{ items: InvocationRecord[] }> {
    return { items: await this.ledger.recent(query) };
  }

  /** Replicas (group members), lag, and recent rates per function. */
  async functions(): Promise<FunctionHealthList> {
    const since = Date.now() - WINDOW_MS;
    const items = await Promise.all(
      FUNCTION_CATALOG.map(async ({ name, topic }) => {
        const [replicas, lag, records] = await Promise.all([
          this.bus.groupMembers(functionGroup(name)),
          this.bus.consumerLag(functionGroup(name), topic),
          this.ledger.recent({ function: name, limit: MAX_RECORDS }),
        ]);
        const recent = records.filter((r) => Date.parse(r.startedAt) >= since);
        const minutes = WINDOW_MS / 60_000;
        const failed = recent.filter((r) => r.outcome === 'error' || r.outcome === 'dead-lettered');
        return {
          function: name,
          topic: TOPICS[topic].name,
          replicas,
          lag,
          invocationsPerMin: Math.round((recent.length / minutes) * 10) / 10,
          errorsPerMin: Math.round((failed.length / minutes) * 10) / 10,
          deadLetteredLast5Min: recent.filter((r) => r.outcome === 'dead-lettered').length,
        };
      }),
    );
    return { items };
  }
}
