import { createECDH, type ECDH, type KeyObject, randomBytes } from 'node:crypto';
import { bytesToBigInt, type KeySpec, keySpecInfo } from '@keyswitch/core';

/**
 * ECDSA over a precomputed digest (FIPS 186-5 §6.4). node:crypto's `sign` always hashes its input (with
 * a null algorithm it hashes with SHA-256), so the scalar arithmetic is done here with bigints and the
 * point multiplications `k·G` by node:crypto's ECDH (OpenSSL, constant time). The bigint arithmetic is
 * not constant time: fine for a development HSM, which is all this is.
 */

/** The order n of each curve's base point (SEC 2 / FIPS 186-5; as `openssl ecparam -param_enc explicit` prints). */
const ORDERS: Readonly<Record<string, bigint>> = {
  prime256v1: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  secp384r1:
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  secp521r1:
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

interface Curve {
  readonly namedCurve: string;
  readonly n: bigint;
  readonly nBits: number;
  readonly size: number;
}

function curveOf(spec: KeySpec): Curve {
  const info = keySpecInfo(spec);
  const n = ORDERS[info.namedCurve!]!;
  return { namedCurve: info.namedCurve!, n, nBits: n.toString(2).length, size: info.coordinateBytes! };
}

function toBytes(value: bigint, size: number): Buffer {
  return Buffer.from(value.toString(16).padStart(size * 2, '0'), 'hex');
}

function mod(a: bigint, n: bigint): bigint {
  const r = a % n;
  return r < 0n ? r + n : r;
}

/** a⁻¹ mod n for prime n, by Fermat: a^(n−2). */
function inverse(a: bigint, n: bigint): bigint {
  let result = 1n;
  let base = mod(a, n);
  for (let e = n - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % n;
    base = (base * base) % n;
  }
  return result;
}

/** The digest as an integer, truncated to the order's bit length (FIPS 186-5 §6.4.1, step 2). */
function digestInteger(digest: Uint8Array, curve: Curve): bigint {
  const e = bytesToBigInt(digest);
  const excess = digest.length * 8 - curve.nBits;
  return excess > 0 ? e >> BigInt(excess) : e;
}

/** x(t·G) mod n, through OpenSSL's constant-time scalar multiplication. */
function baseMultipleX(ecdh: ECDH, t: bigint, curve: Curve): bigint {
  ecdh.setPrivateKey(toBytes(t, curve.size));
  const point = ecdh.getPublicKey();
  return mod(bytesToBigInt(point.subarray(1, 1 + curve.size)), curve.n);
}

function privateScalar(privateKey: KeyObject): bigint {
  const d = privateKey.export({ format: 'jwk' }).d!;
  return bytesToBigInt(Buffer.from(d, 'base64url'));
}

/** A uniformly random scalar in [1, n−1], by rejection sampling. */
function randomScalar(curve: Curve): bigint {
  const excessBits = BigInt(Math.ceil(curve.nBits / 8) * 8 - curve.nBits);
  for (;;) {
    const k = bytesToBigInt(randomBytes(Math.ceil(curve.nBits / 8))) >> excessBits;
    if (k > 0n && k < curve.n) return k;
  }
}

/** Signs a digest with an EC private key; the signature is r ‖ s (IEEE P1363), the software HSM's native format. */
export function signEcdsaDigest(privateKey: KeyObject, spec: KeySpec, digest: Uint8Array): Uint8Array {
  const curve = curveOf(spec);
  const d = privateScalar(privateKey);
  const e = digestInteger(digest, curve);
  const ecdh = createECDH(curve.namedCurve);
  for (;;) {
    const k = randomScalar(curve);
    const r = baseMultipleX(ecdh, k, curve);
    if (r === 0n) continue;
    const s = mod(inverse(k, curve.n) * (e + r * d), curve.n);
    if (s === 0n) continue;
    return Buffer.concat([toBytes(r, curve.size), toBytes(s, curve.size)]);
  }
}

/**
 * Verifies an r ‖ s (IEEE P1363) ECDSA signature over a digest. The HSM holds the private key d, so the verification
 * point u1·G + u2·Q is computed as (u1 + u2·d)·G, since Q = d·G. Malformed signatures give `false`.
 */
export function verifyEcdsaDigest(
  privateKey: KeyObject,
  spec: KeySpec,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const curve = curveOf(spec);
  if (signature.length !== 2 * curve.size) return false;
  const r = bytesToBigInt(signature.subarray(0, curve.size));
  const s = bytesToBigInt(signature.subarray(curve.size));
  if (r < 1n || r >= curve.n || s < 1n || s >= curve.n) return false;
  const w = inverse(s, curve.n);
  const u1 = mod(digestInteger(digest, curve) * w, curve.n);
  const u2 = mod(r * w, curve.n);
  const t = mod(u1 + u2 * privateScalar(privateKey), curve.n);
  if (t === 0n) return false; // the point at infinity
  return baseMultipleX(createECDH(curve.namedCurve), t, curve) === r;
}
