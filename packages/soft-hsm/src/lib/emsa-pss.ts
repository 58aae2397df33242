import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HashName } from '@keyswitch/core';
import { mgf1 } from './mgf1.js';

const ZEROS = Buffer.alloc(8);

function pssHash(hash: HashName, digest: Uint8Array, salt: Uint8Array): Buffer {
  return createHash(hash).update(ZEROS).update(digest).update(salt).digest();
}

/**
 * EMSA-PSS encoding (RFC 8017 §9.1.1) of a precomputed digest, with MGF1 on the same hash and a salt as
 * long as the digest. `emBits` is the modulus length in bits minus one. Returns `undefined` when the
 * modulus is too short.
 */
export function emsaPssEncode(hash: HashName, digest: Uint8Array, emBits: number): Buffer | undefined {
  const hashLength = digest.length;
  const saltLength = hashLength;
  const emLength = Math.ceil(emBits / 8);
  if (emLength < hashLength + saltLength + 2) return undefined;
  const salt = randomBytes(saltLength);
  const h = pssHash(hash, digest, salt);
  const db = Buffer.alloc(emLength - hashLength - 1);
  db[emLength - saltLength - hashLength - 2] = 0x01;
  salt.copy(db, db.length - saltLength);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >>> (8 * emLength - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/**
 * EMSA-PSS verification (RFC 8017 §9.1.2) of an encoded message against a precomputed digest, accepting
 * only a salt as long as the digest (the length keyswitch signs with on every backend).
 */
export function emsaPssVerify(
  hash: HashName,
  digest: Uint8Array,
  encoded: Uint8Array,
  emBits: number,
): boolean {
  const hashLength = digest.length;
  const saltLength = hashLength;
  const emLength = Math.ceil(emBits / 8);
  if (encoded.length !== emLength || emLength < hashLength + saltLength + 2) return false;
  if (encoded[emLength - 1] !== 0xbc) return false;
  const topMask = 0xff >>> (8 * emLength - emBits);
  if ((encoded[0]! & ~topMask) !== 0) return false;
  const db = Buffer.from(encoded.subarray(0, emLength - hashLength - 1));
  const h = encoded.subarray(emLength - hashLength - 1, emLength - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= topMask;
  const separator = emLength - hashLength - saltLength - 2;
  for (let i = 0; i < separator; i++) if (db[i] !== 0) return false;
  if (db[separator] !== 0x01) return false;
  const expected = pssHash(hash, digest, db.subarray(db.length - saltLength));
  return timingSafeEqual(expected, h);
}
