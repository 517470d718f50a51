import type { ServerEventName } from '@mesh/contracts';
import { PushHistory, type HistoryLimits, type PushRecord, type RoomHistorySince } from './push-history.port';

interface RoomHistory {
  records: (PushRecord & { previous: number })[];
  lastAtMs: number;
}

/** Room histories in process memory, for the embedded default and small tests. */
export class MemoryPushHistory extends PushHistory {
  /** From the clock, as in Redis, so offsets from an earlier run of the process are never mistaken for new ones. */
  private sequence = Date.now() * 1000;
  private readonly rooms = new Map<string, RoomHistory>();

  constructor(private readonly limits: HistoryLimits) {
    super();
  }

  append(rooms: readonly string[], push: { id: string; event: ServerEventName; payload: unknown }): Promise<string> {
    const offset = String(++this.sequence);
    const now = Date.now();
    for (const room of rooms) {
      const history = this.live(room, now) ?? { records: [], lastAtMs: now };
      const previous = Number(history.records.at(-1)?.offset ?? this.sequence - 1);
      history.records.push({ ...push, payload: structuredClone(push.payload), offset, rooms: [...rooms], previous });
      history.lastAtMs = now;
      while (history.records.length > this.limits.maxPerRoom) history.records.shift();
      this.rooms.set(room, history);
    }
    return Promise.resolve(offset);
  }

  since(room: string, offset: string): Promise<RoomHistorySince | null> {
    const history = this.live(room, Date.now());
    const after = Number(offset);
    if (!history || after > this.sequence) return Promise.resolve(null);
    const first = history.records[0];
    return Promise.resolve({
      records: history.records
        .filter((r) => Number(r.offset) > after)
        .map(({ previous: _previous, ...record }) => structuredClone(record)),
      complete: !first || after >= first.previous,
    });
  }

  position(): Promise<string> {
    return Promise.resolve(String(this.sequence));
  }

  private live(room: string, now: number): RoomHistory | undefined {
    const history = this.rooms.get(room);
    if (history && now - history.lastAtMs > this.limits.windowMs) {
      this.rooms.delete(room);
      return undefined;
    }
    return history;
  }
}
