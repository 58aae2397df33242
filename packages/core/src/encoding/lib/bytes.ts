import { invalidInput } from './invalid-input.js';

/** Throws `INVALID_INPUT` unless `value` is a Uint8Array (a Buffer is one). */
export function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidInput(`${what} must be a Uint8Array`);
}

/** A plain Uint8Array copy of `bytes`, never a Buffer and never sharing memory with the input. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The bytes of an unsigned big-endian integer without its leading zero bytes (empty for zero). */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.slice(start);
}

/** `bytes` left-padded with zero bytes to `length`; the caller ensures `bytes.length <= length`. */
export function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  const padded = new Uint8Array(length);
  padded.set(bytes, length - bytes.length);
  return padded;
}

/** The value of an unsigned big-endian integer. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** The number of significant bits of an unsigned big-endian integer. */
export function bitLength(bytes: Uint8Array): number {
  const value = stripLeadingZeros(bytes);
  return value.length === 0 ? 0 : (value.length - 1) * 8 + (32 - Math.clz32(value[0]!));
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** The concatenation of `parts`, as a new Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
