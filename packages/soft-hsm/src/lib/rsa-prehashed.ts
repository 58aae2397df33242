import { constants, type KeyObject, privateEncrypt, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { type HashName, KeyswitchError } from '@keyswitch/core';
import { emsaPkcs1v15Encode } from './emsa-pkcs1-v1-5.js';
import { emsaPssEncode, emsaPssVerify } from './emsa-pss.js';

/**
 * RSA signatures over a precomputed digest. node:crypto's `sign` always hashes its input, so the
 * encoding is done here (RFC 8017 EMSA-PKCS1-v1_5 and EMSA-PSS) and the raw RSA operation is
 * `privateEncrypt` / `publicDecrypt` without padding (OpenSSL blinds the private operation).
 */
export type RsaScheme = 'PKCS1' | 'PSS';

function modulusBits(key: KeyObject): number {
  return key.asymmetricKeyDetails!.modulusLength!;
}

function encode(scheme: RsaScheme, hash: HashName, digest: Uint8Array, bits: number): Buffer | undefined {
  const k = Math.ceil(bits / 8);
  if (scheme === 'PKCS1') return emsaPkcs1v15Encode(hash, digest, k);
  const encoded = emsaPssEncode(hash, digest, bits - 1);
  // With emBits = bits - 1, EM is k bytes long unless bits = 8m + 1; pad it to the modulus length.
  return encoded && encoded.length < k ? Buffer.concat([Buffer.alloc(k - encoded.length), encoded]) : encoded;
}

/** Signs a digest: the signature node:crypto's `sign(hash, message, …)` would give for that message's digest. */
export function signRsaDigest(
  privateKey: KeyObject,
  scheme: RsaScheme,
  hash: HashName,
  digest: Uint8Array,
): Uint8Array {
  const encoded = encode(scheme, hash, digest, modulusBits(privateKey));
  if (encoded === undefined) {
    throw new KeyswitchError('INVALID_INPUT', 'the RSA modulus is too short for this algorithm');
  }
  return new Uint8Array(privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encoded));
}

/** Verifies a signature over a digest by recovering the encoded message; malformed signatures give `false`. */
export function verifyRsaDigest(
  publicKey: KeyObject,
  scheme: RsaScheme,
  hash: HashName,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const bits = modulusBits(publicKey);
  const k = Math.ceil(bits / 8);
  if (signature.length !== k) return false;
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false; // the signature is not below the modulus
  }
  if (recovered.length !== k) return false;
  if (scheme === 'PSS') {
    const emLength = Math.ceil((bits - 1) / 8);
    if (recovered.subarray(0, k - emLength).some((byte) => byte !== 0)) return false;
    return emsaPssVerify(hash, digest, recovered.subarray(k - emLength), bits - 1);
  }
  // PKCS#1 v1.5: compare with the one valid encoding (RFC 8017 §8.2.2), not by parsing the padding.
  const expected = emsaPkcs1v15Encode(hash, digest, k);
  return expected !== undefined && timingSafeEqual(expected, recovered);
}
