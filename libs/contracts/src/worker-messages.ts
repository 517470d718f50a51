/**
 * What the local scaler (apps/scaler) and the functions workers it starts say to each
 * other over the IPC channel: a standby is told what to run, and answers.
 */

/** Scaler → standby worker: run these functions from now on. */
export interface WorkerActivation {
  readonly type: 'activate';
  readonly functions: readonly string[];
}

/** Worker → scaler, over the IPC channel. */
export type WorkerMessage = { type: 'standing-by' } | { type: 'activated' } | { type: 'activation-failed' };

export function isActivation(message: unknown): message is WorkerActivation {
  const m = message as Partial<WorkerActivation> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === 'activate' &&
    Array.isArray(m.functions) &&
    m.functions.every((f) => typeof f === 'string')
  );
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'standing-by' || type === 'activated' || type === 'activation-failed';
}
