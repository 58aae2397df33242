import { KeyswitchError } from '@keyswitch/core';

/** An `INVALID_INPUT` error: a malformed token, header or argument. `detail` never holds payload bytes. */
export function invalidInput(detail: string, cause?: unknown): KeyswitchError {
  return new KeyswitchError('INVALID_INPUT', detail, cause === undefined ? {} : { cause });
}

/** An `INVALID_CIPHERTEXT` error: a JWE that does not authenticate. Deliberately says nothing more precise. */
export function invalidCiphertext(detail: string): KeyswitchError {
  return new KeyswitchError('INVALID_CIPHERTEXT', detail);
}
