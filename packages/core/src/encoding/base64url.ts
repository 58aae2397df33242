import { assertBytes } from '../lib/checks.js';
import { decodeBase64Strict, encodeBase64 } from './lib/base64.js';

/**
 * Encodes bytes as base64url without padding (RFC 4648 §5), as JOSE uses it.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `bytes` is not a Uint8Array.
 *
 * @example
 * ```ts
 * base64UrlEncode(new Uint8Array([0xfb, 0xff])); // '-_8'
 * ```
 */
export function base64UrlEncode(bytes: Uint8Array): string {
  assertBytes(bytes, 'base64url input');
  return encodeBase64(bytes, 'base64url');
}

/**
 * Decodes base64url strictly: only `A–Z a–z 0–9 - _`, no padding, no whitespace, and no stray bits in
 * the last character, so one text means one byte string. `what` names the text in the error.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` (`<what> is not valid base64url`) when `text` is not
 * canonical base64url.
 *
 * @example
 * ```ts
 * base64UrlDecode('-_8'); // Uint8Array [0xfb, 0xff]
 * base64UrlDecode('+/8=', 'JWS signature'); // throws INVALID_INPUT: JWS signature is not valid base64url
 * ```
 */
export function base64UrlDecode(text: string, what = 'base64url input'): Uint8Array {
  return decodeBase64Strict(text, 'base64url', what);
}
