import { type ErrorCode, isKeyswitchError, KeyswitchError } from '@keyswitch/core';

/**
 * The PKCS#11 function a failed call names (`method`, as pkcs11js and the worker threads report it), or
 * undefined.
 *
 * @example
 * ```ts
 * callName(Object.assign(new Error('CKR_SESSION_HANDLE_INVALID'), { method: 'C_Sign' })); // 'C_Sign'
 * ```
 */
export function callName(error: unknown): string | undefined {
  const method = (error as { method?: unknown } | undefined)?.method;
  return typeof method === 'string' && method !== '' ? method : undefined;
}

/**
 * The CKR_* name of a pkcs11js error (`Pkcs11Error` carries it as its message, the number as `code`), or
 * undefined for anything else.
 */
export function ckrName(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const match = /\b(CKR_[A-Z0-9_]+)/.exec(error.message);
  return match?.[1];
}

/** Return values that mean the session (or its login) is gone: rebuild it and retry once. */
const SESSION_LOST: ReadonlySet<string> = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_USER_NOT_LOGGED_IN',
]);

/** Return values that mean a cached object handle no longer names the object: look it up again. */
const STALE_HANDLE: ReadonlySet<string> = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID']);

/** Whether an error means the session must be rebuilt. */
export function isSessionLost(error: unknown): boolean {
  const name = ckrName(error);
  return name !== undefined && SESSION_LOST.has(name);
}

/** Whether an error means an object handle is stale. */
export function isStaleHandle(error: unknown): boolean {
  const name = ckrName(error);
  return name !== undefined && STALE_HANDLE.has(name);
}

/**
 * Return values that say the token, its session or the connection to it failed, whatever the input was:
 * the only ones a decryption of a caller-supplied ciphertext, or a verification of a caller-supplied
 * signature, reports as such (UNAVAILABLE, or a session rebuilt). CKR_HOST_MEMORY is here because NSS
 * answers with it once a session has lost its login.
 */
const TOKEN_OR_SESSION_FAILED: ReadonlySet<string> = new Set([
  ...SESSION_LOST,
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_HOST_MEMORY',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_SLOT_ID_INVALID',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_FUNCTION_CANCELED',
  'CKR_CANT_LOCK',
  'CKR_SESSION_COUNT',
]);

/**
 * Return values of C_Decrypt or C_Verify that are about the key rather than the caller's input: a stale
 * handle (looked up again), a key that may not be used so (disabled, or the wrong kind), or a call
 * keyswitch made wrongly (a bug, INTERNAL).
 */
const NOT_ABOUT_THE_INPUT: ReadonlySet<string> = new Set([
  ...STALE_HANDLE,
  'CKR_KEY_FUNCTION_NOT_PERMITTED',
  'CKR_KEY_TYPE_INCONSISTENT',
  'CKR_OPERATION_NOT_INITIALIZED',
  'CKR_OPERATION_ACTIVE',
  'CKR_BUFFER_TOO_SMALL',
  'CKR_CRYPTOKI_ALREADY_INITIALIZED',
]);

/**
 * Whether a failed decryption means the ciphertext is bad (INVALID_CIPHERTEXT, never retryable), as
 * opposed to the token, the session or the key failing. Tokens disagree on how they refuse a forged or
 * malformed ciphertext: CKR_ENCRYPTED_DATA_INVALID by the spec, CKR_GENERAL_ERROR from SoftHSM2 (failed
 * GCM tag, bad OAEP padding), CKR_FUNCTION_FAILED from opencryptoki (bad OAEP padding), CKR_ARGUMENTS_BAD
 * from NSS (an RSA ciphertext not below the modulus), CKR_DATA_LEN_RANGE from NSS (short ciphertext). So
 * every return value of C_Decrypt itself counts, except those that say the token, session or connection
 * failed ({@link TOKEN_OR_SESSION_FAILED}) and those about the key ({@link NOT_ABOUT_THE_INPUT}): a
 * client must never retry a forged ciphertext as if the token were busy. A failure of C_DecryptInit is not
 * the ciphertext's (the IV and parameters keyswitch passes there are checked before), nor is anything that
 * is not a token's answer (a timeout, a closed provider).
 *
 * @example
 * ```ts
 * if (isBadCiphertext(error)) throw new KeyswitchError('INVALID_CIPHERTEXT', 'the ciphertext does not decrypt');
 * ```
 */
export function isBadCiphertext(error: unknown): boolean {
  return refusesTheInput(error, 'C_DecryptInit');
}

/**
 * Whether a failed verification means "the signature does not verify" (`false`), by the same rule as
 * {@link isBadCiphertext}: every return value of C_Verify itself counts (CKR_SIGNATURE_INVALID and
 * CKR_SIGNATURE_LEN_RANGE by the spec; tokens also answer CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED or
 * CKR_DATA_LEN_RANGE), except those that say the token, session or connection failed and those about the
 * key. A forged signature is never an error a client would retry. A failure of C_VerifyInit is not the
 * signature's: the signature is not passed there.
 *
 * @example
 * ```ts
 * if (isBadSignature(error)) return false;
 * ```
 */
export function isBadSignature(error: unknown): boolean {
  return refusesTheInput(error, 'C_VerifyInit');
}

/** Whether a token's answer refuses the caller's input, rather than the session, the token or the key. */
function refusesTheInput(error: unknown, initCall: string): boolean {
  const name = ckrName(error);
  if (name === undefined || isKeyswitchError(error)) return false;
  if (callName(error) === initCall) return false;
  return !TOKEN_OR_SESSION_FAILED.has(name) && !NOT_ABOUT_THE_INPUT.has(name);
}

/** Return values that mean the key may not be used this way (disabled, or the wrong kind of key). */
const NOT_PERMITTED: ReadonlySet<string> = new Set([
  'CKR_KEY_FUNCTION_NOT_PERMITTED',
  'CKR_KEY_TYPE_INCONSISTENT',
]);

/** Whether an error means the token refused the key for this function. */
export function isKeyFunctionNotPermitted(error: unknown): boolean {
  const name = ckrName(error);
  return name !== undefined && NOT_PERMITTED.has(name);
}

const CODES: Readonly<Record<string, ErrorCode>> = {
  CKR_KEY_HANDLE_INVALID: 'KEY_NOT_FOUND',
  CKR_OBJECT_HANDLE_INVALID: 'KEY_NOT_FOUND',
  CKR_PIN_INCORRECT: 'ACCESS_DENIED',
  CKR_PIN_INVALID: 'ACCESS_DENIED',
  CKR_PIN_LEN_RANGE: 'ACCESS_DENIED',
  CKR_PIN_EXPIRED: 'ACCESS_DENIED',
  CKR_PIN_LOCKED: 'ACCESS_DENIED',
  CKR_USER_NOT_LOGGED_IN: 'ACCESS_DENIED',
  CKR_USER_PIN_NOT_INITIALIZED: 'ACCESS_DENIED',
  CKR_USER_TYPE_INVALID: 'ACCESS_DENIED',
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: 'ACCESS_DENIED',
  CKR_USER_TOO_MANY_TYPES: 'ACCESS_DENIED',
  CKR_TOKEN_WRITE_PROTECTED: 'ACCESS_DENIED',
  CKR_SESSION_READ_ONLY: 'ACCESS_DENIED',
  CKR_MECHANISM_INVALID: 'UNSUPPORTED_ALGORITHM',
  CKR_MECHANISM_PARAM_INVALID: 'UNSUPPORTED_ALGORITHM',
  CKR_FUNCTION_NOT_SUPPORTED: 'UNSUPPORTED_OPERATION',
  CKR_ATTRIBUTE_READ_ONLY: 'UNSUPPORTED_ALGORITHM',
  CKR_KEY_SIZE_RANGE: 'UNSUPPORTED_ALGORITHM',
  CKR_CURVE_NOT_SUPPORTED: 'UNSUPPORTED_ALGORITHM',
  CKR_DOMAIN_PARAMS_INVALID: 'UNSUPPORTED_ALGORITHM',
  CKR_ENCRYPTED_DATA_INVALID: 'INVALID_CIPHERTEXT',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'INVALID_CIPHERTEXT',
  CKR_DATA_INVALID: 'INVALID_INPUT',
  CKR_DATA_LEN_RANGE: 'INVALID_INPUT',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'USAGE_MISMATCH',
  CKR_KEY_TYPE_INCONSISTENT: 'USAGE_MISMATCH',
  CKR_SESSION_COUNT: 'THROTTLED',
  CKR_DEVICE_ERROR: 'UNAVAILABLE',
  CKR_DEVICE_MEMORY: 'UNAVAILABLE',
  CKR_DEVICE_REMOVED: 'UNAVAILABLE',
  CKR_FUNCTION_CANCELED: 'UNAVAILABLE',
  CKR_TOKEN_NOT_PRESENT: 'UNAVAILABLE',
  CKR_TOKEN_NOT_RECOGNIZED: 'UNAVAILABLE',
  CKR_SLOT_ID_INVALID: 'UNAVAILABLE',
  CKR_SESSION_HANDLE_INVALID: 'UNAVAILABLE',
  CKR_SESSION_CLOSED: 'UNAVAILABLE',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'UNAVAILABLE',
  CKR_CANT_LOCK: 'UNAVAILABLE',
};

/**
 * The keyswitch code for a CKR_* name: INTERNAL (not retryable) for the ones that only a bug or a broken
 * token gives. Retryable UNAVAILABLE is for device, session and connection failures only: CKR_FUNCTION_FAILED
 * ("the function could not be performed") and CKR_HOST_MEMORY are INTERNAL, since a retry would send the
 * same input to the same failure (a session that lost its login, which NSS answers with CKR_HOST_MEMORY,
 * is rebuilt by the session runner before any error is mapped).
 *
 * @example
 * ```ts
 * codeForCkr('CKR_DEVICE_ERROR'); // 'UNAVAILABLE'
 * ```
 */
export function codeForCkr(name: string): ErrorCode {
  return CODES[name] ?? 'INTERNAL';
}

/**
 * Turns anything a pkcs11js call threw into a {@link KeyswitchError}: `what` names the call
 * (`C_SignInit`), the CKR_* name goes in the message, the original error in `cause`. PINs are never part
 * of pkcs11js errors, and none is added here.
 */
export function pkcs11Error(error: unknown, what: string, override?: ErrorCode): KeyswitchError {
  if (isKeyswitchError(error)) return error;
  const name = ckrName(error);
  if (name !== undefined) {
    const code = override ?? codeForCkr(name);
    return new KeyswitchError(code, `${what} failed: ${name}${hint(name)}`, { cause: error });
  }
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new KeyswitchError(override ?? 'INTERNAL', `${what} failed: ${detail}`, { cause: error });
}

function hint(name: string): string {
  switch (name) {
    case 'CKR_PIN_INCORRECT':
      return ' (the configured PIN was refused)';
    case 'CKR_PIN_LOCKED':
      return ' (the user PIN is locked; unlock it with the security officer PIN)';
    case 'CKR_FUNCTION_FAILED':
      return ' (the token could not perform the call; AWS CloudHSM also answers this when overloaded)';
    case 'CKR_HOST_MEMORY':
      return ' (the PKCS#11 library ran out of memory in this process)';
    default:
      return '';
  }
}
