import { timingSafeEqual } from 'node:crypto';

/**
 * Whether two byte arrays hold the same bytes. Not constant time: for public data (signatures to
 * compare, certificates, encodings). Compare secrets (MACs, tags, keys) with {@link constantTimeEqual}.
 *
 * @example
 * ```ts
 * import { bytesEqual } from '@keyswitch/core';
 * bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/**
 * Whether two byte arrays hold the same bytes, in a time that does not depend on where they differ
 * (node:crypto's `timingSafeEqual`): for MACs, authentication tags and anything else secret. Arrays of
 * different lengths are unequal at once (a length is not secret).
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from '@keyswitch/core';
 * const valid = constantTimeEqual(expectedMac, receivedMac);
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
