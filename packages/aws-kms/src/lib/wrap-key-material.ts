import {
  constants,
  createCipheriv,
  createPublicKey,
  type KeyObject,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { KeyswitchError } from '@keyswitch/core';

/** RFC 5649's alternative initial value: node:crypto's AES key wrap with padding takes it as its IV. */
const KWP_IV = Buffer.from('a65959a6', 'hex');

/** The wrapping KMS expects for a key: raw secrets fit RSA-OAEP; private keys (PKCS #8) need RSA + AES key wrap. */
export function wrappingAlgorithmFor(key: KeyObject): 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_256' {
  return key.type === 'secret' ? 'RSAES_OAEP_SHA_256' : 'RSA_AES_KEY_WRAP_SHA_256';
}

/** The key's material as KMS imports it: raw bytes for secret keys, PKCS #8 DER for private keys. */
export function keyMaterial(key: KeyObject): Buffer {
  if (key.type === 'secret') return key.export();
  if (key.type === 'private') return key.export({ format: 'der', type: 'pkcs8' });
  throw new KeyswitchError(
    'INVALID_INPUT',
    'the key to import must be a private or secret KeyObject, not a public key',
  );
}

/**
 * Wraps key material with the wrapping public key from GetParametersForImport: RSAES_OAEP_SHA_256
 * directly, or RSA_AES_KEY_WRAP_SHA_256 (a fresh AES-256 key wrapped with RSA-OAEP-SHA-256, followed by
 * the material wrapped with AES key wrap with padding, RFC 5649).
 */
export function wrapKeyMaterial(
  material: Uint8Array,
  wrappingPublicKey: Uint8Array,
  algorithm: 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_256',
): Uint8Array {
  const key = createPublicKey({ key: Buffer.from(wrappingPublicKey), format: 'der', type: 'spki' });
  const oaep = (data: Uint8Array) =>
    publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, data);
  if (algorithm === 'RSAES_OAEP_SHA_256') return new Uint8Array(oaep(material));
  const aesKey = randomBytes(32);
  try {
    const cipher = createCipheriv('id-aes256-wrap-pad', aesKey, KWP_IV);
    const wrapped = Buffer.concat([cipher.update(material), cipher.final()]);
    return new Uint8Array(Buffer.concat([oaep(aesKey), wrapped]));
  } finally {
    aesKey.fill(0);
  }
}
