/**
 * A plain Uint8Array copy of `bytes`: never a Buffer, never a view of a shared or pooled ArrayBuffer, so
 * that the caller may keep it, and wipe it, without touching anyone else's memory.
 *
 * @example
 * ```ts
 * import { copyBytes } from '@keyswitch/core';
 * const mine = copyBytes(Buffer.from('00ff', 'hex')); // Uint8Array [0, 255]
 * ```
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
