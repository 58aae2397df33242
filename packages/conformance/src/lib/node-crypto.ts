/**
 * The independent implementation every check compares the provider against: node:crypto (OpenSSL),
 * called with the parameters the keyswitch contract fixes (PSS salt = digest length, MGF1 with the same
 * hash, OAEP label empty, ECDSA DER or P1363).
 */
import {
  constants,
  createHash,
  createHmac,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPair,
  type KeyObject,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { promisify } from 'node:util';
import {
  algorithmInfo,
  type EncryptionAlgorithm,
  type KeySpec,
  keySpecInfo,
  type MacAlgorithm,
  type SignatureFormat,
  type SigningAlgorithm,
} from '@keyswitch/core';

const generateKeyPairAsync = promisify(generateKeyPair);

/** How node:crypto should sign or verify; by default what the contract fixes. */
export interface SignatureParameters {
  /** ECDSA encoding; default DER. */
  readonly format?: SignatureFormat;
  /** RSA-PSS salt length; default the digest length. */
  readonly saltLength?: number;
}

/** A node:crypto public key for a DER SubjectPublicKeyInfo. */
export function nodePublicKey(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/** The DER SubjectPublicKeyInfo of a node:crypto public or private key. */
export function nodeSpki(key: KeyObject): Uint8Array {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

function signatureOptions(algorithm: SigningAlgorithm, key: KeyObject, parameters: SignatureParameters) {
  const info = algorithmInfo(algorithm);
  if (info.family === 'RSA_PSS') {
    return {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: parameters.saltLength ?? info.digestBytes!,
    };
  }
  if (info.family === 'RSA_PKCS1') return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, dsaEncoding: parameters.format === 'P1363' ? ('ieee-p1363' as const) : ('der' as const) };
}

/** Verifies a signature over `message` with node:crypto. Malformed signatures give false. */
export function nodeVerify(
  algorithm: SigningAlgorithm,
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
  parameters: SignatureParameters = {},
): boolean {
  try {
    return verify(
      algorithmInfo(algorithm).hash!,
      message,
      signatureOptions(algorithm, publicKey, parameters),
      signature,
    );
  } catch {
    return false;
  }
}

/** Signs `message` with node:crypto. */
export function nodeSign(
  algorithm: SigningAlgorithm,
  privateKey: KeyObject,
  message: Uint8Array,
  parameters: SignatureParameters = {},
): Uint8Array {
  return new Uint8Array(
    sign(algorithmInfo(algorithm).hash!, message, signatureOptions(algorithm, privateKey, parameters)),
  );
}

/** The digest of `message` with the algorithm's hash. */
export function nodeDigest(algorithm: SigningAlgorithm, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithmInfo(algorithm).hash!).update(message).digest());
}

/** RSA-OAEP encryption with node:crypto: the algorithm's hash for OAEP and MGF1, empty label. */
export function nodeOaepEncrypt(
  algorithm: EncryptionAlgorithm,
  publicKey: KeyObject,
  plaintext: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithmInfo(algorithm).hash! },
      plaintext,
    ),
  );
}

/** The largest plaintext RSA-OAEP takes with a key of `spec`: k - 2·hLen - 2. */
export function oaepMaxPlaintext(spec: KeySpec, algorithm: EncryptionAlgorithm): number {
  return keySpecInfo(spec).bits / 8 - 2 * algorithmInfo(algorithm).digestBytes! - 2;
}

/** The raw ECDH shared secret (the x coordinate) with node:crypto. */
export function nodeSharedSecret(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

/** An HMAC with node:crypto. */
export function nodeHmac(algorithm: MacAlgorithm, key: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(algorithmInfo(algorithm).hash!, key).update(message).digest());
}

/** A fresh node:crypto key of `spec`: a private key for RSA and EC, a secret key for AES and HMAC. */
export async function generateNodeKey(spec: KeySpec): Promise<KeyObject> {
  const info = keySpecInfo(spec);
  switch (info.family) {
    case 'RSA':
      return (await generateKeyPairAsync('rsa', { modulusLength: info.bits })).privateKey;
    case 'EC':
      return (await generateKeyPairAsync('ec', { namedCurve: info.namedCurve! })).privateKey;
    default:
      return createSecretKey(randomBytes(info.bits / 8));
  }
}
