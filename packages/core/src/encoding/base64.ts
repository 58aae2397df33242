import { assertBytes } from '../lib/checks.js';
import { decodeBase64Strict, encodeBase64 } from './lib/base64.js';

/**
 * Encodes bytes as standard base64 with padding (RFC 4648 §4), as PEM bodies and JOSE `x5c` entries use it.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `bytes` is not a Uint8Array.
 *
 * @example
 * ```ts
 * base64Encode(new Uint8Array([0xfb, 0xff])); // '+/8='
 * ```
 */
export function base64Encode(bytes: Uint8Array): string {
  assertBytes(bytes, 'base64 input');
  return encodeBase64(bytes, 'base64');
}

/**
 * Decodes standard base64 strictly: only `A–Z a–z 0–9 + /`, canonical `=` padding, no whitespace, and no
 * stray bits in the last character, so one text means one byte string. `what` names the text in the error.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` (`<what> is not valid base64`) when `text` is not
 * canonical base64.
 *
 * @example
 * ```ts
 * base64Decode('+/8='); // Uint8Array [0xfb, 0xff]
 * base64Decode('-_8', 'x5c certificate 0'); // throws INVALID_INPUT: x5c certificate 0 is not valid base64
 * ```
 */
export function base64Decode(text: string, what = 'base64 input'): Uint8Array {
  return decodeBase64Strict(text, 'base64', what);
}
