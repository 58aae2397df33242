import { KeyswitchError } from '@keyswitch/core';

/** An `INVALID_CIPHERTEXT` error: a JWE that does not authenticate. Deliberately says nothing more precise. */
export function invalidCiphertext(detail: string): KeyswitchError {
  return new KeyswitchError('INVALID_CIPHERTEXT', detail);
}

/**
 * An `INVALID_SIGNATURE` error: a well-formed JWS that is not authentic (a signature that does not verify,
 * `alg: none`). Kept apart from INVALID_INPUT so that a forged token is not mistaken for a caller's bug.
 */
export function invalidSignature(detail: string): KeyswitchError {
  return new KeyswitchError('INVALID_SIGNATURE', detail);
}

/** An `UNSUPPORTED_ALGORITHM` error: an algorithm keyswitch does not do, or the caller does not accept. */
export function unsupportedAlgorithm(detail: string): KeyswitchError {
  return new KeyswitchError('UNSUPPORTED_ALGORITHM', detail);
}
