const encoder = new TextEncoder();
// fatal: malformed bytes are refused, never replaced; ignoreBOM: a leading U+FEFF is kept as text, so the
// text re-encodes to exactly the bytes it came from.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The UTF-8 bytes of a string, as a plain Uint8Array.
 *
 * @example
 * ```ts
 * import { utf8 } from '@keyswitch/core';
 * await signer.sign(utf8('keyswitch'));
 * ```
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * The text of UTF-8 bytes, decoded strictly: `undefined` when the bytes are not UTF-8 (a malformed or
 * overlong sequence, a surrogate, a truncated character), never a replacement character. A leading
 * byte-order mark stays in the text. The caller decides what a failure means (an INVALID_INPUT naming the
 * field, a line that is not a record), and never has to quote the bytes, which may be secret.
 *
 * @example
 * ```ts
 * import { decodeUtf8Strict, invalidInput } from '@keyswitch/core';
 * const text = decodeUtf8Strict(payload);
 * if (text === undefined) throw invalidInput('the JWS payload is not valid UTF-8');
 * ```
 */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}
