import { bytesEqual, type EncryptionContext } from '@keyswitch/core';
import type { ParsedEnvelope } from '../format/parse-envelope.js';
import { canonicalContextBytes } from './context-codec.js';
import { invalidEnvelope } from './invalid-envelope.js';

/**
 * The encryption context an envelope is opened with: the caller's, or the one stored in the header. When
 * both are present they must be the same.
 *
 * @throws INVALID_CIPHERTEXT when the caller's context differs from the stored one
 */
export function effectiveContext(
  envelope: ParsedEnvelope,
  given: EncryptionContext | undefined,
  keyName: string,
): { context: EncryptionContext | undefined; bytes: Uint8Array } {
  if (given === undefined) {
    return { context: envelope.storedContext, bytes: envelope.storedContextBytes ?? new Uint8Array(0) };
  }
  const bytes = canonicalContextBytes(given, keyName);
  if (envelope.storedContextBytes !== undefined && !bytesEqual(bytes, envelope.storedContextBytes)) {
    throw invalidEnvelope('the encryption context differs from the one stored in the envelope', keyName);
  }
  return { context: given, bytes };
}
