import { KeyswitchError } from '@keyswitch/core';

/** INVALID_CIPHERTEXT for an envelope that is malformed or does not authenticate; never quotes its bytes. */
export function invalidEnvelope(detail: string, keyName?: string, cause?: unknown): KeyswitchError {
  return new KeyswitchError('INVALID_CIPHERTEXT', detail, { keyName, cause });
}
