/**
 * Overwrites `bytes` with zeros: for secret material (a data key, an unwrapped key) no longer needed.
 * Does nothing when given `undefined`.
 *
 * @example
 * ```ts
 * import { wipeBytes } from '@keyswitch/core';
 * try {
 *   useKey(dataKey.plaintext);
 * } finally {
 *   wipeBytes(dataKey.plaintext);
 * }
 * ```
 */
export function wipeBytes(bytes: Uint8Array | undefined): void {
  bytes?.fill(0);
}
