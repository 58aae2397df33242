import { KeyswitchError } from '../errors.js';

/**
 * The longest request id accepted, in UTF-16 code units.
 *
 * @example
 * ```ts
 * const requestId = header.slice(0, MAX_REQUEST_ID_LENGTH);
 * ```
 */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * Control characters (line breaks, escapes), invisible format characters (bidirectional overrides,
 * zero-width characters) and line or paragraph separators: what would let an id forge or hide lines in
 * a log, an audit file viewer or a trace backend.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
/** Printable ASCII only: nothing {@link UNSAFE} or {@link LONE_SURROGATE} would find. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
/** Half of a surrogate pair without its other half: not text, and not representable in UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks a caller-supplied request id before it is written into audit events, spans and logs: a
 * string of 1 to 128 characters, well-formed Unicode, with no control or invisible formatting characters.
 * The error never quotes the id (it may be the very text an attacker wants in a log).
 *
 * @throws INVALID_INPUT naming what is wrong with it
 * @example
 * ```ts
 * const requestId = checkRequestId(request.headers['x-request-id']);
 * await ks.signer('acs-signing').sign(payload, { requestId });
 * ```
 */
export function checkRequestId(value: unknown): string {
  if (typeof value !== 'string') {
    throw new KeyswitchError('INVALID_INPUT', `requestId must be a string, got ${typeof value}`);
  }
  if (value.length === 0) throw new KeyswitchError('INVALID_INPUT', 'requestId must not be empty');
  if (value.length > MAX_REQUEST_ID_LENGTH) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `requestId must be at most ${MAX_REQUEST_ID_LENGTH} characters, got ${value.length}`,
    );
  }
  // The usual id (a UUID, a trace id, a transaction id) is printable ASCII: one quick test.
  if (PRINTABLE_ASCII.test(value)) return value;
  const unsafe = UNSAFE.exec(value);
  if (unsafe !== null) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `requestId must not contain control or invisible formatting characters (U+${unsafe[0]
        .codePointAt(0)!
        .toString(16)
        .toUpperCase()
        .padStart(4, '0')} at index ${unsafe.index})`,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new KeyswitchError('INVALID_INPUT', 'requestId must be well-formed Unicode (a lone surrogate)');
  }
  return value;
}
