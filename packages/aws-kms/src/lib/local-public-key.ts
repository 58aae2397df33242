import { constants, createPublicKey, type KeyObject, publicEncrypt, verify } from 'node:crypto';
import { algorithmInfo, type EncryptionAlgorithm, type SigningAlgorithm } from '@keyswitch/core';

/** A public key as node:crypto takes it, from SPKI DER. */
export function publicKeyObject(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/**
 * Verifies a signature over a raw message with the public key, as KMS Verify would: RSA-PSS with MGF1 of
 * the same hash and a salt as long as the digest, PKCS #1 v1.5, or ECDSA with a DER signature.
 */
export function verifyLocally(
  key: KeyObject,
  algorithm: SigningAlgorithm,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const info = algorithmInfo(algorithm);
  const options =
    info.family === 'RSA_PSS'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.digestBytes! }
      : info.family === 'RSA_PKCS1'
        ? { key, padding: constants.RSA_PKCS1_PADDING }
        : { key, dsaEncoding: 'der' as const };
  try {
    return verify(info.hash!, message, options, signature);
  } catch {
    return false;
  }
}

/** RSA-OAEP encryption with the public key (MGF1 with the OAEP hash), as KMS Encrypt would. */
export function encryptLocally(
  key: KeyObject,
  algorithm: EncryptionAlgorithm,
  plaintext: Uint8Array,
): Uint8Array {
  const info = algorithmInfo(algorithm);
  return new Uint8Array(
    publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: info.hash! }, plaintext),
  );
}
