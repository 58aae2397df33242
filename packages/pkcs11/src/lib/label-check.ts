import { callName } from './ckr.js';

/** The calls of a key creation's label check, which runs before the generation in the same task. */
const LABEL_CHECK_CALLS: ReadonlySet<string> = new Set([
  'C_FindObjectsInit',
  'C_FindObjects',
  'C_FindObjectsFinal',
]);

/**
 * Whether a key creation failed in its label check (the error's `method`, as the worker reports it), that
 * is before the token was asked to generate anything: the creation can then run again on a rebuilt session
 * without making a second key.
 *
 * @example
 * ```ts
 * failedInLabelCheck(Object.assign(new Error('CKR_SESSION_HANDLE_INVALID'), { method: 'C_FindObjectsInit' })); // true
 * ```
 */
export function failedInLabelCheck(error: unknown): boolean {
  return LABEL_CHECK_CALLS.has(callName(error) ?? '');
}
