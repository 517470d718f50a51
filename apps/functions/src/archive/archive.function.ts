import { Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { RouteArchive } from '@mesh/archive';
import type { MeshFunction } from '../host/mesh-function';
import { EVENT_DATA, TOPIC_OF_EVENT, type OrderChangeType } from '@mesh/contracts';

/** Every event that carries an order as it became. */
export const ORDER_CHANGES = (Object.keys(EVENT_DATA) as (keyof typeof EVENT_DATA)[]).filter(
  (type): type is OrderChangeType => TOPIC_OF_EVENT[type] === 'orders' && type !== 'order.deadline_reached',
);

/**
 * The route log's writer: every order event into the archive (PostgreSQL),
 * where it moves the order's facts and the reports' rollups. Replaying the
 * same offsets changes nothing: the archive keeps each event id once.
 */
@Injectable()
export class ArchiveFunction implements MeshFunction<OrderChangeType> {
  readonly name = 'archive';
  readonly topic = 'orders';
  readonly accepts = ORDER_CHANGES;
  readonly idempotency = 'natural';
  readonly records = 'failures';
  // The route log feeds reports, not screens (its lag goal is 2 s): fuller batches, fewer transactions.
  // The trails wait for it to catch up before judging positions (ArchiveWatermark).
  readonly fetchIntervalMs = 250;

  constructor(private readonly archive: RouteArchive) {}

  async handle(event: MeshEvent<OrderChangeType>): Promise<void> {
    await this.archive.recordOrderEvents([
      {
        eventId: event.id,
        type: event.type,
        at: event.time ?? event.data.order.updatedAt,
        order: event.data.order,
        offer: event.data.offer,
      },
    ]);
  }
}
