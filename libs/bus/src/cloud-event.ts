import { newId, type EventData, type EventType } from '@mesh/contracts';

/**
 * A CloudEvents 1.0 event. On Kafka it travels in binary mode: attributes as
 * `ce_*` headers, `data` as the JSON value, `partitionkey` as the message key.
 */
export interface CloudEvent<T = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  /** Optional in CloudEvents 1.0; the mesh's own events always carry it. */
  readonly time?: string;
  readonly subject?: string;
  readonly datacontenttype: 'application/json';
  /** CloudEvents partitioning extension: one entity's events share a key and stay ordered. */
  readonly partitionkey: string;
  readonly data: T;
}

/**
 * A mesh event of type T, or of any of the union T: distributed over the union, so
 * `switch (event.type)` narrows `event.data` to that type's data, with no cast.
 */
export type MeshEvent<T extends EventType = EventType> = T extends EventType
  ? CloudEvent<EventData<T>> & { readonly type: T }
  : never;

export function newEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  attrs: { source: string; key: string; subject?: string; id?: string; time?: Date },
): MeshEvent<T> {
  const event: CloudEvent<EventData<T>> & { readonly type: T } = {
    specversion: '1.0',
    id: attrs.id ?? newId(),
    source: attrs.source,
    type,
    time: (attrs.time ?? new Date()).toISOString(),
    ...(attrs.subject !== undefined ? { subject: attrs.subject } : {}),
    datacontenttype: 'application/json',
    partitionkey: attrs.key,
    data,
  };
  // MeshEvent<T> stays an unresolved conditional type for a generic T; for each T it is exactly this.
  return event as MeshEvent<T>;
}
