import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  type EncryptionAlgorithm,
  isKeyswitchError,
  type KeyswitchError,
  type PublicJwk,
  type PublicKey,
  type SigningAlgorithm,
} from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import type { CertificateSigner } from '@keyswitch/x509';
import type { EcdhKeyAgreement, JwsSigner, RsaOaepDecrypter } from '../../src/index.js';

/** Software keys whose private halves are also imported into the HSM, so `jose` can use them too. */
export interface SharedKeys {
  readonly hsm: SoftHsm;
  /** RSA-2048, in the HSM as `rsa-sign` (SIGN_VERIFY) and `rsa-enc` (ENCRYPT_DECRYPT). */
  readonly rsa: { privateKey: KeyObject; publicKey: KeyObject };
  /** P-256, in the HSM as `ecdh` (KEY_AGREEMENT). */
  readonly ecdh: { privateKey: KeyObject; publicKey: KeyObject };
}

/**
 * One in-memory software HSM per test file: one RSA key (generation is the slow part; a test may reuse it
 * for signing and encryption, which production must not), P-256 agreement, and P-256/384/521 signing keys.
 */
export async function openSharedKeys(): Promise<SharedKeys> {
  const hsm = await SoftHsm.open();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecdh = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }) as string;
  await hsm.importKey({ label: 'rsa-sign', usage: 'SIGN_VERIFY', pem: pem(rsa.privateKey) });
  await hsm.importKey({ label: 'rsa-enc', usage: 'ENCRYPT_DECRYPT', pem: pem(rsa.privateKey) });
  await hsm.importKey({ label: 'ecdh', usage: 'KEY_AGREEMENT', pem: pem(ecdh.privateKey) });
  await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'ec256' });
  await hsm.createKey({ spec: 'ECC_NIST_P384', usage: 'SIGN_VERIFY', label: 'ec384' });
  await hsm.createKey({ spec: 'ECC_NIST_P521', usage: 'SIGN_VERIFY', label: 'ec521' });
  return { hsm, rsa, ecdh };
}

/** A signer over an HSM key for one algorithm, in the shape both JwsSigner and CertificateSigner accept. */
export interface HsmSigner {
  readonly algorithm: SigningAlgorithm;
  sign: JwsSigner['sign'] & CertificateSigner['sign'];
  publicKey(): Promise<PublicKey>;
}

/** A signer over an HSM key for one algorithm. */
export function hsmSigner(hsm: SoftHsm, ref: string, algorithm: SigningAlgorithm): HsmSigner {
  return {
    algorithm,
    sign: (message, options) =>
      hsm.sign({
        ref,
        algorithm,
        message,
        ...(options?.format === undefined ? {} : { signatureFormat: options.format }),
      }),
    publicKey: () => hsm.getPublicKey(ref),
  };
}

/** An RSA-OAEP decrypter over an HSM key. */
export function hsmDecrypter(hsm: SoftHsm, ref: string, algorithm: EncryptionAlgorithm): RsaOaepDecrypter {
  return { algorithm, decrypt: (ciphertext) => hsm.decrypt({ ref, algorithm, ciphertext }) };
}

/** An ECDH key agreement over an HSM key. */
export function hsmAgreement(hsm: SoftHsm, ref: string): EcdhKeyAgreement {
  return {
    deriveSharedSecret: async (peer: PublicJwk) => {
      const { jwkToSpki } = await import('@keyswitch/core');
      return hsm.deriveSharedSecret({ ref, algorithm: 'ECDH', publicKey: jwkToSpki(peer) });
    },
  };
}

/** The KeyswitchError a promise or function rejects with. */
export async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<KeyswitchError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
export const bytes = (value: string) => new TextEncoder().encode(value);
