import type {
  CourierList,
  CourierTrail,
  DispatchReport,
  FunctionHealthList,
  OrderList,
  OrderView,
  ScheduleList,
  StreamList,
} from '@mesh/contracts';
import { attachmentName, type ReportGroupBy } from './model';

/** A dispatch report's span and grouping. */
export interface ReportQuery {
  from: string;
  to: string;
  groupBy: ReportGroupBy;
}

/** The gateway's REST API as the dashboard uses it: same origin, the dispatcher's bearer token. */
export class Api {
  constructor(private readonly token: string) {}

  async get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  async call<T>(method: string, path: string): Promise<T> {
    return (await (await this.send(method, path)).json()) as T;
  }

  /** The response to an authorised request; a refused token signs out, any other failure throws its problem's detail. */
  private async send(method: string, path: string): Promise<Response> {
    const res = await fetch(path, { method, headers: { authorization: `Bearer ${this.token}` } });
    if (res.status === 401) throw new SignedOut();
    if (!res.ok) {
      const problem = (await res.json().catch(() => null)) as { detail?: string } | null;
      throw new Error(problem?.detail ?? `${method} ${path} answered ${res.status}`);
    }
    return res;
  }

  /** Every order, page by page, up to `max` (newest last pages are the open ones' neighbours). */
  async orders(max = 1_000): Promise<OrderView[]> {
    const all: OrderView[] = [];
    let cursor: string | null = null;
    do {
      const page: OrderList = await this.get(
        `/v1/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && all.length < max);
    return all;
  }

  /** One order as the dispatcher is shown it: its proof photo's URLs signed afresh. */
  order(orderId: string): Promise<OrderView> {
    return this.get(`/v1/orders/${encodeURIComponent(orderId)}`);
  }

  couriers(): Promise<CourierList> {
    return this.get('/v1/couriers?limit=2000');
  }

  streams(): Promise<StreamList> {
    return this.get('/v1/streams?limit=50');
  }

  functions(): Promise<FunctionHealthList> {
    return this.get('/v1/admin/functions');
  }

  schedules(): Promise<ScheduleList> {
    return this.get('/v1/admin/schedules');
  }

  dispatchReport(query: ReportQuery): Promise<DispatchReport> {
    return this.get(reportPath(query, 'json'));
  }

  /** The report as CSV, with the name the gateway gave the download (fetched with the token, so not a plain link). */
  async dispatchReportCsv(query: ReportQuery): Promise<{ blob: Blob; filename: string }> {
    const res = await this.send('GET', reportPath(query, 'csv'));
    const fallback = `dispatch-${query.groupBy}-${query.from.slice(0, 13)}.csv`;
    return { blob: await res.blob(), filename: attachmentName(res.headers.get('content-disposition'), fallback) };
  }

  /** A courier's positions while on an order, as GeoJSON (at most 24 hours). */
  trail(courierId: string, span: { from: string; to: string }): Promise<CourierTrail> {
    return this.get(
      `/v1/admin/couriers/${encodeURIComponent(courierId)}/trail?${new URLSearchParams(span).toString()}`,
    );
  }

  redispatch(orderId: string): Promise<OrderView> {
    return this.call('POST', `/v1/orders/${encodeURIComponent(orderId)}/redispatch`);
  }
}

function reportPath(query: ReportQuery, format: 'json' | 'csv'): string {
  const params = new URLSearchParams({ from: query.from, to: query.to, groupBy: query.groupBy, format });
  return `/v1/admin/reports/dispatch?${params.toString()}`;
}

/** The token was refused: back to the sign-in. */
export class SignedOut extends Error {
  constructor() {
    super('signed out');
  }
}

/** Asks the gateway for a development token (only when it runs with DEV_TOKENS=1). */
export async function devToken(): Promise<string> {
  const res = await fetch('/v1/dev/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'dashboard-dispatcher', roles: ['dispatcher'] }),
  });
  if (!res.ok) throw new Error(`development tokens answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
