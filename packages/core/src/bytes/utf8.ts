const encoder = new TextEncoder();

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
