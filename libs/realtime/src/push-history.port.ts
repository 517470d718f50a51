import type { ServerEventName } from '@mesh/contracts';

/** One push as a room's history keeps it. */
export interface PushRecord {
  readonly id: string;
  /** Its place in history: one number per push, the same in each of its rooms, increasing. */
  readonly offset: string;
  /** Every room it was sent to (a client that saw it through one has seen it). */
  readonly rooms: readonly string[];
  readonly event: ServerEventName;
  readonly payload: unknown;
}

/** What a room's history holds after an offset. */
export interface RoomHistorySince {
  /** The pushes it still has after the offset, oldest first. */
  readonly records: PushRecord[];
  /**
   * Whether they are all that came after it; false when some are gone (trimmed,
   * or from before the store lost its data): the client then refetches as well.
   */
  readonly complete: boolean;
}

export interface HistoryLimits {
  /** How long an idle room's history is kept (RECOVERY_WINDOW_S). */
  windowMs: number;
  /** The most pushes a room's history keeps (a busy room's window is shorter). */
  maxPerRoom: number;
}

/**
 * The short history of what was pushed to each Socket.IO room (API.md "Missed
 * events"), so a client that reconnects, to any gateway, gets what it missed.
 */
export abstract class PushHistory {
  /** Keeps one push in the history of each of its rooms; answers its offset. */
  abstract append(
    rooms: readonly string[],
    push: { id: string; event: ServerEventName; payload: unknown },
  ): Promise<string>;
  /**
   * The room's pushes after `offset`, and whether none is missing; null when the
   * room has no history or `offset` was never given out.
   */
  abstract since(room: string, offset: string): Promise<RoomHistorySince | null>;
  /** The newest offset given out so far ('0' before any). */
  abstract position(): Promise<string>;
}
