/** Nest token: true when this worker starts as a standby (FUNCTIONS_STANDBY=1). */
export const STANDBY = Symbol('STANDBY');

/** Scaler → standby worker: run these functions from now on. */
export interface Activation {
  readonly type: 'activate';
  readonly functions: readonly string[];
}

/** Worker → scaler, over the IPC channel. */
export type WorkerMessage = { type: 'standing-by' } | { type: 'activated' } | { type: 'activation-failed' };

export function isActivation(message: unknown): message is Activation {
  const m = message as Partial<Activation> | null;
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
