/**
 * The first `limit` bytes of `bytes` as hex, with an ellipsis when cut: for failure messages about
 * public outputs (random bytes, signatures), never about secrets.
 *
 * @example
 * ```ts
 * hex(new Uint8Array([0xde, 0xad, 0xbe, 0xef]), 2); // 'dead…'
 * ```
 */
export function hex(bytes: Uint8Array, limit = bytes.byteLength): string {
  const text = Buffer.from(bytes.subarray(0, limit)).toString('hex');
  return bytes.byteLength > limit ? `${text}…` : text;
}
