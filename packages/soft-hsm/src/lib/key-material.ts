import { createPublicKey, type KeyObject } from 'node:crypto';
import { wipeBytes } from '@keyswitch/core';

/** An RSA or EC key pair held by the software HSM. */
export interface AsymmetricMaterial {
  readonly kind: 'asymmetric';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
}

/** An AES or HMAC key held by the software HSM, as raw bytes (so that it can be zeroed on close). */
export interface SecretMaterial {
  readonly kind: 'secret';
  readonly bytes: Buffer;
}

/** The key material of one key. Never leaves the software HSM. */
export type KeyMaterial = AsymmetricMaterial | SecretMaterial;

/** The material for a private key: the key, its public half and the public half's SPKI. */
export function asymmetricMaterial(privateKey: KeyObject): AsymmetricMaterial {
  const publicKey = createPublicKey(privateKey);
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  return { kind: 'asymmetric', privateKey, publicKey, spki };
}

/** The material for a secret key; takes ownership of `bytes`. */
export function secretMaterial(bytes: Buffer): SecretMaterial {
  return { kind: 'secret', bytes };
}

/**
 * Zeroes what can be zeroed: secret key bytes. Private keys live in OpenSSL memory behind a KeyObject,
 * which node:crypto frees when it is garbage collected and offers no way to clear sooner.
 */
export function wipeMaterial(material: KeyMaterial): void {
  if (material.kind === 'secret') wipeBytes(material.bytes);
}
