import { KeyswitchError } from '../../errors.js';

/**
 * The UNSUPPORTED_OPERATION error for an operation this backend does not do.
 *
 * @example
 * ```ts
 * if (!this.onSign) throw unsupported('signing'); // "this backend does not support signing"
 * ```
 */
export function unsupported(what: string): KeyswitchError {
  return new KeyswitchError('UNSUPPORTED_OPERATION', `this backend does not support ${what}`);
}
