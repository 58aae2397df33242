/**
 * The bytes of an unsigned big-endian integer without its leading zero bytes (empty for zero).
 *
 * @example
 * ```ts
 * stripLeadingZeros(new Uint8Array([0, 0, 1, 0])); // Uint8Array [1, 0]
 * ```
 */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.slice(start);
}

/**
 * The value of an unsigned big-endian integer.
 *
 * @example
 * ```ts
 * bytesToBigInt(new Uint8Array([1, 0])); // 256n
 * ```
 */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/**
 * The number of significant bits of an unsigned big-endian integer.
 *
 * @example
 * ```ts
 * bitLength(new Uint8Array([0, 0x80, 0])); // 16
 * ```
 */
export function bitLength(bytes: Uint8Array): number {
  const value = stripLeadingZeros(bytes);
  return value.length === 0 ? 0 : (value.length - 1) * 8 + (32 - Math.clz32(value[0]!));
}
