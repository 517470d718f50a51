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

export type MeshEvent<T extends EventType = EventType> = CloudEvent<EventData<T>> & { readonly type: T };

export function newEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  attrs: { source: string; key: string; subject?: string; id?: string; time?: Date },
): MeshEvent<T> {
  return {
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
}
