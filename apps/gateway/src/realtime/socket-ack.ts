import type { AckReply } from '@mesh/contracts';
import { problems } from '@mesh/problem';
import { toProblemError } from '../http/problem.filter';

/** Runs a socket event's work and turns its outcome into the API's acknowledgement shape. */
export async function acknowledge<T extends object>(
  work: () => Promise<T>,
  onUnexpected: (err: unknown) => void,
): Promise<AckReply<T>> {
  try {
    return { ok: true, ...(await work()) };
  } catch (err) {
    const problem = toProblemError(err);
    if (!problem) onUnexpected(err);
    return { ok: false, error: (problem ?? problems.internal()).toProblem() };
  }
}
