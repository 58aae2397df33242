import { randomBytes } from 'node:crypto';

/** The first `limit` bytes of `bytes` as hex, with an ellipsis when cut. */
export function hex(bytes: Uint8Array, limit = bytes.byteLength): string {
  const text = Buffer.from(bytes.subarray(0, limit)).toString('hex');
  return bytes.byteLength > limit ? `${text}…` : text;
}

/** Whether two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** A copy of `bytes` with one bit of the byte at `index` flipped (negative indexes count from the end). */
export function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

/** `count` fresh random bytes from node:crypto, as a plain Uint8Array. */
export function randomInput(count: number): Uint8Array {
  return new Uint8Array(randomBytes(count));
}

/** UTF-8 bytes of `text`, as a plain Uint8Array. */
export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}
