import { randomBytes } from 'node:crypto';

/**
 * A copy of `bytes` with one bit of the byte at `index` flipped (negative indexes count from the end):
 * a tampered signature, MAC or ciphertext.
 *
 * @example
 * ```ts
 * const tampered = flipBit(signature, -1); // the last byte changed
 * ```
 */
export function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

/**
 * `count` fresh random bytes from node:crypto, as a plain Uint8Array: an input no backend has seen.
 *
 * @example
 * ```ts
 * const plaintext = randomInput(32);
 * ```
 */
export function randomInput(count: number): Uint8Array {
  return new Uint8Array(randomBytes(count));
}
