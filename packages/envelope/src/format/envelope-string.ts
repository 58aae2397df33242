import { base64UrlDecode, base64UrlEncode } from '@keyswitch/core';
import { invalidEnvelope } from '../lib/invalid-envelope.js';
import { parseEnvelope } from './parse-envelope.js';

/**
 * The string form of an envelope: its bytes in base64url without padding (RFC 4648 §5), for text columns,
 * JSON and URLs. {@link decodeEnvelopeString} and every function that takes an envelope read it back.
 *
 * @example
 * ```ts
 * const text = encodeEnvelopeString(await cards.encrypt(record)); // 'S1NFTgEA...'
 * ```
 */
export function encodeEnvelopeString(envelope: Uint8Array): string {
  return base64UrlEncode(envelope);
}

/**
 * The bytes of an envelope in string form, checked to be a well-formed envelope.
 *
 * @throws INVALID_CIPHERTEXT when the text is not canonical base64url or not an envelope
 *
 * @example
 * ```ts
 * const bytes = decodeEnvelopeString(row.pan_envelope);
 * ```
 */
export function decodeEnvelopeString(text: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64UrlDecode(text);
  } catch (error) {
    throw invalidEnvelope('malformed envelope: the string is not canonical base64url', undefined, error);
  }
  parseEnvelope(bytes);
  return bytes;
}
