import { isKeyswitchError } from '@keyswitch/core';
import { ckrName } from './ckr.js';

/**
 * Return values that mean "the token refuses this mechanism, parameter set or key template": the probe
 * records them as not supported. Anything else (CKR_FUNCTION_FAILED, device errors, lost sessions,
 * timeouts) says nothing about support: it propagates, and the probe runs again on the next call.
 */
const REFUSED: ReadonlySet<string> = new Set([
  'CKR_MECHANISM_INVALID',
  'CKR_MECHANISM_PARAM_INVALID',
  'CKR_ARGUMENTS_BAD',
  'CKR_KEY_SIZE_RANGE',
  'CKR_KEY_TYPE_INCONSISTENT',
  'CKR_KEY_FUNCTION_NOT_PERMITTED',
  'CKR_FUNCTION_NOT_SUPPORTED',
  'CKR_CURVE_NOT_SUPPORTED',
  'CKR_DOMAIN_PARAMS_INVALID',
  'CKR_TEMPLATE_INCONSISTENT',
  'CKR_TEMPLATE_INCOMPLETE',
  'CKR_ATTRIBUTE_VALUE_INVALID',
  'CKR_ATTRIBUTE_TYPE_INVALID',
  'CKR_ATTRIBUTE_SENSITIVE',
  'CKR_ATTRIBUTE_READ_ONLY',
]);

/**
 * The CKR_* name of a refusal, or rethrows an error that is not one (see {@link REFUSED}): what the
 * probe records as "not supported".
 *
 * @example
 * ```ts
 * try {
 *   library.C_EncryptInit(session, mechanism, key);
 * } catch (error) {
 *   notes.push(`refused (${refusal(error)})`);
 * }
 * ```
 */
export function refusal(error: unknown): string {
  const name = ckrName(error);
  if (name !== undefined && REFUSED.has(name) && !isKeyswitchError(error)) return name;
  throw error;
}
