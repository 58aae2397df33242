import { KeyswitchError } from '@keyswitch/core';
import { CKA } from './ck.js';
import { ckrName, isKeyFunctionNotPermitted } from './ckr.js';
import { readFlags } from './object-search.js';
import { type ResolvedKey, stateCheck } from './resolved-key.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

// Key state emulation: PKCS#11 keys have no state. disableKey clears a key's usage attributes and enableKey
// sets those of its usage again; a key with none of them set is disabled.

/**
 * Usage attributes disableKey clears on a private key.
 *
 * @example
 * ```ts
 * const set = PRIVATE_STATE_ATTRIBUTES.filter((attribute) => current.get(attribute) === true);
 * ```
 */
export const PRIVATE_STATE_ATTRIBUTES: readonly number[] = [
  CKA.SIGN,
  CKA.DECRYPT,
  CKA.DERIVE,
  CKA.UNWRAP,
  CKA.SIGN_RECOVER,
];

/**
 * Usage attributes disableKey clears on a secret key.
 *
 * @example
 * ```ts
 * const set = SECRET_STATE_ATTRIBUTES.filter((attribute) => current.get(attribute) === true);
 * ```
 */
export const SECRET_STATE_ATTRIBUTES: readonly number[] = [
  CKA.ENCRYPT,
  CKA.DECRYPT,
  CKA.SIGN,
  CKA.VERIFY,
  CKA.WRAP,
  CKA.UNWRAP,
  CKA.DERIVE,
];

/**
 * Sets boolean usage attributes of a key object.
 *
 * @throws UNSUPPORTED_OPERATION when the token does not let them change (AWS CloudHSM)
 * @example
 * ```ts
 * setFlags(library, session, key.primary, [CKA.SIGN], false);
 * ```
 */
export function setFlags(
  library: Pkcs11Library,
  session: Handle,
  handle: Handle,
  attributes: readonly number[],
  value: boolean,
): void {
  if (attributes.length === 0) return;
  try {
    library.C_SetAttributeValue(
      session,
      handle,
      attributes.map((type) => ({ type, value })),
    );
  } catch (error) {
    const name = ckrName(error);
    if (
      name === 'CKR_ATTRIBUTE_READ_ONLY' ||
      name === 'CKR_ACTION_PROHIBITED' ||
      name === 'CKR_FUNCTION_NOT_SUPPORTED'
    ) {
      throw new KeyswitchError(
        'UNSUPPORTED_OPERATION',
        `the token does not let keyswitch change this key's usage attributes (${name}); its state cannot be changed`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The object that carries a key's state (private or secret key); public keys alone have none.
 *
 * @throws UNSUPPORTED_OPERATION for a public key alone
 * @example
 * ```ts
 * setFlags(library, session, statefulHandle(key), attributes, true);
 * ```
 */
export function statefulHandle(key: ResolvedKey): Handle {
  if (key.kind === 'public') {
    throw new KeyswitchError(
      'UNSUPPORTED_OPERATION',
      'the reference names a public key alone, which has no state to change',
    );
  }
  return key.primary;
}

/**
 * Refuses a disabled key, reading its usage attributes fresh (one C_GetAttributeValue): not every token
 * enforces them (NSS softokn ignores CKA_DERIVE), and a public key never knows its private half is
 * disabled. A stale handle fails here and is looked up again.
 *
 * @throws KEY_DISABLED when none of the key's usage attributes is set
 * @example
 * ```ts
 * assertEnabled(library, session.handle, key);
 * ```
 */
export function assertEnabled(library: Pkcs11Library, session: Handle, key: ResolvedKey): void {
  const check = stateCheck(key);
  if (check === undefined) return;
  const flags = readFlags(library, session, check.handle, check.attributes);
  if (![...flags.values()].some(Boolean)) throw new KeyswitchError('KEY_DISABLED', 'the key is disabled');
}

/**
 * After the token refused a key: KEY_DISABLED when that is why (else the caller rethrows the refusal).
 *
 * @throws KEY_DISABLED when the refusal is CKR_KEY_FUNCTION_NOT_PERMITTED and the key is disabled
 * @example
 * ```ts
 * explainRefusal(library, session.handle, key, error);
 * throw error;
 * ```
 */
export function explainRefusal(
  library: Pkcs11Library,
  session: Handle,
  key: ResolvedKey,
  error: unknown,
): void {
  if (isKeyFunctionNotPermitted(error)) assertEnabled(library, session, key);
}
