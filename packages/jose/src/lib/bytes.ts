import { timingSafeEqual } from 'node:crypto';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8 strictly; malformed bytes are INVALID_INPUT naming `what`, never quoting the bytes. */
export function decodeUtf8(bytes: Uint8Array, what: string, fail: (detail: string) => Error): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw fail(`${what} is not valid UTF-8`);
  }
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A 32-bit big-endian unsigned integer. */
export function uint32BigEndian(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/** A 64-bit big-endian unsigned integer (for lengths below 2^53). */
export function uint64BigEndian(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/** Equality in time independent of where the arrays differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether two byte arrays are equal (not constant time: public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
