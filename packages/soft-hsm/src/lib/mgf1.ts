import { createHash } from 'node:crypto';
import type { HashName } from '@keyswitch/core';

/** MGF1 (RFC 8017 §B.2.1): `length` bytes of mask from `seed` with `hash`. */
export function mgf1(hash: HashName, seed: Uint8Array, length: number): Buffer {
  const mask = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let offset = 0, block = 0; offset < length; block++) {
    counter.writeUInt32BE(block);
    offset += createHash(hash).update(seed).update(counter).digest().copy(mask, offset);
  }
  return mask;
}
