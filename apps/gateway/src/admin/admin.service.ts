import { Injectable } from '@nestjs/common';
import { EventBus } from '@mesh/bus';
import {
  FUNCTION_CATALOG,
  TOPICS,
  functionGroup,
  type ActivationQuery,
  type FunctionHealthList,
  type ScheduleList,
} from '@mesh/contracts';
import { AppConfig } from '@mesh/config';
import { InvocationLedger, type InvocationRecord } from '@mesh/invocations';
import { ScheduleStore, nextTick, tickEventId } from '@mesh/schedules';

const WINDOW_MS = 5 * 60_000;
/** Most records read per function for the rates; beyond it the rate is reported as at least this. */
const MAX_RECORDS = 5_000;
/** Records of a schedule's function searched for its last tick's outcome. */
const OUTCOME_SEARCH = 500;

@Injectable()
export class AdminService {
  constructor(
    private readonly bus: EventBus,
    private readonly ledger: InvocationLedger,
    private readonly scheduleStore: ScheduleStore,
    private readonly config: AppConfig,
  ) {}

  /**
   * The schedules, their last fire with the outcome of its invocation (`fired` while
   * the function has not finished with it) and their next fire.
   */
  async schedules(): Promise<ScheduleList> {
    const specs = this.config.schedules;
    const states = await this.scheduleStore.states(specs.map((s) => s.name));
    const now = Date.now();
    // One read of records per function, however many of its schedules there are.
    const recordsOf = new Map<string, Promise<InvocationRecord[]>>();
    const records = (fn: string) => {
      if (!recordsOf.has(fn)) recordsOf.set(fn, this.ledger.recent({ function: fn, limit: OUTCOME_SEARCH }));
      return recordsOf.get(fn) as Promise<InvocationRecord[]>;
    };
    const items = await Promise.all(
      specs.map(async (spec, i) => {
        const state = states[i] ?? null;
        let lastFire: ScheduleList['items'][number]['lastFire'] = null;
        if (state) {
          const eventId = tickEventId(spec.name, state.lastTickMs);
          const record = (await records(spec.function)).find((r) => r.eventId === eventId && r.outcome !== 'duplicate');
          lastFire = { at: new Date(state.firedAtMs).toISOString(), outcome: record?.outcome ?? 'fired' };
        }
        return {
          name: spec.name,
          cron: spec.cron,
          intervalS: spec.intervalS,
          timeZone: spec.timeZone,
          lastFire,
          nextFireAt: new Date(nextTick(spec, Math.max(now, state?.lastTickMs ?? now))).toISOString(),
        };
      }),
    );
    return { items };
  }

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
