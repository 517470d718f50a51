import { monotonicFactory } from 'ulid';

/**
 * A new order or offer id: a ULID, strictly increasing within this process, so
 * ids sort by creation time even within one millisecond (listings rely on it).
 */
export const newId: () => string = monotonicFactory();
