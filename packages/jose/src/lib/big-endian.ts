/**
 * A 32-bit big-endian unsigned integer (Concat KDF's round counter and length prefixes).
 *
 * @example
 * ```ts
 * uint32BigEndian(1); // Uint8Array [0, 0, 0, 1]
 * ```
 */
export function uint32BigEndian(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/**
 * A 64-bit big-endian unsigned integer, for lengths below 2^53 (AES-CBC-HMAC's AL).
 *
 * @example
 * ```ts
 * uint64BigEndian(256); // Uint8Array [0, 0, 0, 0, 0, 0, 1, 0]
 * ```
 */
export function uint64BigEndian(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}
