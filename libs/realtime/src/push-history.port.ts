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
   * The room's pushes after `offset`, oldest first; null when the history cannot
   * say (gone, trimmed past `offset`, or from before the store lost its data).
   */
  abstract since(room: string, offset: string): Promise<PushRecord[] | null>;
  /** The newest offset given out so far ('0' before any). */
  abstract position(): Promise<string>;
}
