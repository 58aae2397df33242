/**
 * The concatenation of `parts`, as a new plain Uint8Array.
 *
 * @example
 * ```ts
 * import { concatBytes } from '@keyswitch/core';
 * concatBytes(new Uint8Array([0x04]), x, y); // an uncompressed EC point
 * ```
 */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
