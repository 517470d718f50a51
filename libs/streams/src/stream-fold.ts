import type { CloudEvent } from '@mesh/bus';
import { EVENT_DATA, type StreamSpec } from '@mesh/contracts';

/** Each stream's latest spec on the log (its stream-mix requests carry the whole spec), for a rebuild. */
export class StreamFold {
  private readonly latest = new Map<string, StreamSpec>();

  add(event: CloudEvent): void {
    if (!event.type.startsWith('stream.')) return;
    const parsed = EVENT_DATA['stream.created'].safeParse(event.data);
    if (!parsed.success) return;
    const { stream } = parsed.data;
    const seen = this.latest.get(stream.id);
    if (!seen || seen.revision <= stream.revision) this.latest.set(stream.id, stream);
  }

  specs(): StreamSpec[] {
    return [...this.latest.values()];
  }
}
