// The "invisible salamanders" construction against AES-GCM (Dodis, Grubbs, Ristenpart, Woodage, CRYPTO
// 2018; Len, Grubbs, Ristenpart, USENIX Security 2021): given two keys, one IV and one additional data,
// solve GHASH's linear equation for one ciphertext block so that a single (ciphertext, tag) authenticates
// under both keys. Built here on node:crypto's AES block cipher and a GF(2^128) written from NIST SP
// 800-38D §6.3, independently of the package under test.
import { createCipheriv } from 'node:crypto';

const R = 0xe1n << 120n;
const MASK = (1n << 128n) - 1n;

/** GF(2^128) multiplication in GCM's bit order (SP 800-38D Algorithm 1). */
function multiply(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let bit = 127n; bit >= 0n; bit -= 1n) {
    if ((x >> bit) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z & MASK;
}

/** The multiplicative inverse: a^(2^128 - 2). */
function inverse(a: bigint): bigint {
  let result = 1n << 127n; // the field's 1 in GCM's bit order
  let base = a;
  let exponent = (1n << 128n) - 2n;
  while (exponent > 0n) {
    if (exponent & 1n) result = multiply(result, base);
    base = multiply(base, base);
    exponent >>= 1n;
  }
  return result;
}

const toBig = (block: Uint8Array): bigint => BigInt(`0x${Buffer.from(block).toString('hex') || '0'}`);
const toBlock = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(32, '0'), 'hex');

function aesBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/** The blocks GHASH runs over: the AAD and the ciphertext, each zero-padded, then their bit lengths. */
function ghashBlocks(aad: Uint8Array, ciphertext: Uint8Array): bigint[] {
  const blocks: bigint[] = [];
  for (const part of [aad, ciphertext]) {
    for (let offset = 0; offset < part.length; offset += 16) {
      const block = Buffer.alloc(16);
      Buffer.from(part.subarray(offset, offset + 16)).copy(block);
      blocks.push(toBig(block));
    }
  }
  blocks.push((BigInt(aad.length * 8) << 64n) | BigInt(ciphertext.length * 8));
  return blocks;
}

/**
 * One ciphertext of `blocks` 16-byte blocks and one tag that AES-256-GCM opens under `key1` and under
 * `key2` (with a 96-bit IV and the same AAD), to two different plaintexts. Block `free` is solved for.
 */
export function twoKeyCiphertext(
  key1: Uint8Array,
  key2: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  blocks = 4,
  free = 1,
): { ciphertext: Buffer; tag: Buffer } {
  const h1 = toBig(aesBlock(key1, Buffer.alloc(16)));
  const h2 = toBig(aesBlock(key2, Buffer.alloc(16)));
  const j0 = Buffer.concat([iv, Buffer.from([0, 0, 0, 1])]);
  const s1 = toBig(aesBlock(key1, j0));
  const s2 = toBig(aesBlock(key2, j0));
  const ciphertext = Buffer.alloc(blocks * 16, 0x41); // any bytes; block `free` is replaced
  ciphertext.fill(0, free * 16, free * 16 + 16);
  const all = ghashBlocks(aad, ciphertext);
  const power = (h: bigint, n: number) => {
    let out = 1n << 127n;
    for (let i = 0; i < n; i += 1) out = multiply(out, h);
    return out;
  };
  // GHASH_H = sum of X_i * H^(m - i + 1) (1-based i). With the free block at zero, each side's constant:
  const ghash = (h: bigint) =>
    all.reduce((sum, block, index) => sum ^ multiply(block, power(h, all.length - index)), 0n);
  const freeIndex = Math.ceil(aad.length / 16) + free; // 0-based position among all blocks
  const exponent = all.length - freeIndex;
  // s1 ^ ghash1 ^ x*h1^e == s2 ^ ghash2 ^ x*h2^e  =>  x = (s1 ^ s2 ^ ghash1 ^ ghash2) / (h1^e ^ h2^e)
  const x = multiply(s1 ^ s2 ^ ghash(h1) ^ ghash(h2), inverse(power(h1, exponent) ^ power(h2, exponent)));
  toBlock(x).copy(ciphertext, free * 16);
  const tag = toBlock(s1 ^ ghashOf(h1, aad, ciphertext));
  return { ciphertext, tag };
}

function ghashOf(h: bigint, aad: Uint8Array, ciphertext: Uint8Array): bigint {
  let y = 0n;
  for (const block of ghashBlocks(aad, ciphertext)) y = multiply(y ^ block, h);
  return y;
}
