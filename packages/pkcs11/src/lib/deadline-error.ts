import { KeyswitchError } from '@keyswitch/core';

const deadlineErrors = new WeakSet<object>();

/**
 * The error for a task whose deadline passed: UNAVAILABLE (retryable), naming the call and the timeout.
 *
 * @example
 * ```ts
 * reject(deadlineError('C_Sign', 5_000));
 * ```
 */
export function deadlineError(what: string, timeoutMs: number): KeyswitchError {
  const error = new KeyswitchError(
    'UNAVAILABLE',
    `${what} did not complete within ${timeoutMs} ms (operationTimeoutMs); the token may be stalled`,
  );
  deadlineErrors.add(error);
  return error;
}

/**
 * Whether an error is a task's deadline passing (the native call may still be running, so its outcome
 * is not known yet), as opposed to the token answering.
 *
 * @example
 * ```ts
 * if (isDeadlineError(error)) reportUnknownOutcome();
 * ```
 */
export function isDeadlineError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && deadlineErrors.has(error);
}
