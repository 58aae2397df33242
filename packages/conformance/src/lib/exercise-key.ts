import { generateKeyPairSync } from 'node:crypto';
import {
  type Algorithm,
  algorithmsFor,
  type Capabilities,
  type EncryptionAlgorithm,
  type KeyProvider,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
  type MacAlgorithm,
  type SigningAlgorithm,
  utf8,
} from '@keyswitch/core';
import { nodeSpki } from './node-crypto.js';

/** The first algorithm the provider declares for keys of this spec and usage. */
export function declaredAlgorithm(
  capabilities: Capabilities,
  spec: KeySpec,
  usage: KeyUsage,
): Algorithm | undefined {
  return algorithmsFor(spec, usage).find((algorithm) => capabilities.algorithms.includes(algorithm));
}

/** A peer public key (SPKI) on the key's curve, for key agreement. */
export function peerPublicKey(spec: KeySpec): Uint8Array {
  return nodeSpki(generateKeyPairSync('ec', { namedCurve: keySpecInfo(spec).namedCurve! }).privateKey);
}

/**
 * One ordinary operation with a key, using `algorithm` (default: the first declared one for the key):
 * sign, encrypt, generate a MAC or derive a secret. Used to see whether a key is usable (lifecycle) and
 * which error an operation gives.
 */
export function exerciseKey(
  provider: KeyProvider,
  key: { readonly ref: string; readonly spec: KeySpec; readonly usage: KeyUsage },
  capabilities: Capabilities,
  algorithm: Algorithm | undefined = declaredAlgorithm(capabilities, key.spec, key.usage),
): Promise<unknown> {
  const message = utf8('keyswitch conformance');
  switch (key.usage) {
    case 'SIGN_VERIFY':
      return provider.sign({ ref: key.ref, algorithm: algorithm as SigningAlgorithm, message });
    case 'ENCRYPT_DECRYPT':
      return provider.encrypt({
        ref: key.ref,
        algorithm: algorithm as EncryptionAlgorithm,
        plaintext: message,
      });
    case 'GENERATE_VERIFY_MAC':
      return provider.generateMac({ ref: key.ref, algorithm: algorithm as MacAlgorithm, message });
    case 'KEY_AGREEMENT':
      return provider.deriveSharedSecret({
        ref: key.ref,
        algorithm: 'ECDH',
        publicKey: peerPublicKey(keySpecInfo(key.spec).family === 'EC' ? key.spec : 'ECC_NIST_P256'),
      });
  }
}
