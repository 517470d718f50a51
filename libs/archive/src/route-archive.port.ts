import type { DispatchReportRow, OfferRecord, OrderChangeType, OrderView } from '@mesh/contracts';
import type { ArchivedFix } from './order-facts';

/** An order event as the archive keeps it. */
export interface ArchivedOrderEvent {
  eventId: string;
  type: OrderChangeType;
  /** The event's time. */
  at: string;
  order: OrderView;
  /** The offer the change concerned, if any. */
  offer?: OfferRecord | null;
}

export interface ReportQuery {
  fromMs: number;
  toMs: number;
  groupBy: 'hour' | 'area';
}

export interface PositionsRecorded {
  kept: number;
  unmatched: ArchivedFix[];
}

/** One position of a trail. */
export interface TrailPoint {
  atMs: number;
  lat: number;
  lng: number;
  orderId: string;
}

/**
 * The route log: every order event and the positions of couriers while on an
 * order, and the dispatch reports drawn from them. Recording is idempotent: the
 * same events or positions recorded again (a replay from Kafka) change nothing.
 */
export abstract class RouteArchive {
  /** Records order events; answers how many were new. */
  abstract recordOrderEvents(events: readonly ArchivedOrderEvent[]): Promise<number>;
  /**
   * Records the positions that fall on an order of their courier as the archive
   * knows it (from its assignment until it ended); answers how many were newly
   * kept and those that fell on no order (a position already kept is neither).
   */
  abstract recordPositions(fixes: readonly ArchivedFix[]): Promise<PositionsRecorded>;
  /** Of these orders, those the archive knows were assigned. */
  abstract knownAssigned(orderIds: readonly string[]): Promise<Set<string>>;
  /** The report rows of the orders placed in [from's hour, to), by hour or pickup cell, in key order. */
  abstract dispatchReport(query: ReportQuery): Promise<DispatchReportRow[]>;
  /** A courier's archived positions in [from, to), oldest first. */
  abstract trail(courierId: string, fromMs: number, toMs: number): Promise<TrailPoint[]>;
  /** Forgets the raw log (events, positions, per-order facts) older than `beforeMs`; the reports' rollups stay. Answers the rows removed. */
  abstract trimBefore(beforeMs: number): Promise<number>;
  /** Whether the archive answers (the readiness probe). */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
