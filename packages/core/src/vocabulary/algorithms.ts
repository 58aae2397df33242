import type { KeySpec, KeyUsage } from './key-specs.js';
import { keySpecInfo } from './key-specs.js';

/** Signing algorithms, in AWS KMS names. */
export type SigningAlgorithm =
  | 'RSASSA_PSS_SHA_256'
  | 'RSASSA_PSS_SHA_384'
  | 'RSASSA_PSS_SHA_512'
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384'
  | 'ECDSA_SHA_512';

/** Encryption algorithms, in AWS KMS names. `SYMMETRIC_DEFAULT` is AES-256-GCM with an encryption context. */
export type EncryptionAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'SYMMETRIC_DEFAULT';

/** MAC algorithms, in AWS KMS names. */
export type MacAlgorithm = 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';

/** Key agreement algorithms, in AWS KMS names: ECDH giving the raw shared secret (the x coordinate). */
export type KeyAgreementAlgorithm = 'ECDH';

/** Any algorithm keyswitch knows. */
export type Algorithm = SigningAlgorithm | EncryptionAlgorithm | MacAlgorithm | KeyAgreementAlgorithm;

/** The hash functions keyswitch's algorithms use, in node:crypto names. */
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Facts about an algorithm. */
export interface AlgorithmInfo {
  readonly algorithm: Algorithm;
  readonly usage: KeyUsage;
  readonly family: 'RSA_PSS' | 'RSA_PKCS1' | 'ECDSA' | 'RSA_OAEP' | 'AES_GCM' | 'HMAC' | 'ECDH';
  /** The hash the algorithm uses (for PSS and OAEP, also the MGF1 hash). */
  readonly hash?: HashName;
  /** The hash's output length in bytes: the digest length for DIGEST signing, and the PSS salt length. */
  readonly digestBytes?: number;
}

const HASH_BYTES: Readonly<Record<HashName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

function info(algorithm: Algorithm, usage: KeyUsage, family: AlgorithmInfo['family'], hash?: HashName) {
  return hash === undefined
    ? { algorithm, usage, family }
    : { algorithm, usage, family, hash, digestBytes: HASH_BYTES[hash] };
}

const ALGORITHM_INFO: Readonly<Record<Algorithm, AlgorithmInfo>> = {
  RSASSA_PSS_SHA_256: info('RSASSA_PSS_SHA_256', 'SIGN_VERIFY', 'RSA_PSS', 'sha256'),
  RSASSA_PSS_SHA_384: info('RSASSA_PSS_SHA_384', 'SIGN_VERIFY', 'RSA_PSS', 'sha384'),
  RSASSA_PSS_SHA_512: info('RSASSA_PSS_SHA_512', 'SIGN_VERIFY', 'RSA_PSS', 'sha512'),
  RSASSA_PKCS1_V1_5_SHA_256: info('RSASSA_PKCS1_V1_5_SHA_256', 'SIGN_VERIFY', 'RSA_PKCS1', 'sha256'),
  RSASSA_PKCS1_V1_5_SHA_384: info('RSASSA_PKCS1_V1_5_SHA_384', 'SIGN_VERIFY', 'RSA_PKCS1', 'sha384'),
  RSASSA_PKCS1_V1_5_SHA_512: info('RSASSA_PKCS1_V1_5_SHA_512', 'SIGN_VERIFY', 'RSA_PKCS1', 'sha512'),
  ECDSA_SHA_256: info('ECDSA_SHA_256', 'SIGN_VERIFY', 'ECDSA', 'sha256'),
  ECDSA_SHA_384: info('ECDSA_SHA_384', 'SIGN_VERIFY', 'ECDSA', 'sha384'),
  ECDSA_SHA_512: info('ECDSA_SHA_512', 'SIGN_VERIFY', 'ECDSA', 'sha512'),
  RSAES_OAEP_SHA_1: info('RSAES_OAEP_SHA_1', 'ENCRYPT_DECRYPT', 'RSA_OAEP', 'sha1'),
  RSAES_OAEP_SHA_256: info('RSAES_OAEP_SHA_256', 'ENCRYPT_DECRYPT', 'RSA_OAEP', 'sha256'),
  SYMMETRIC_DEFAULT: info('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AES_GCM'),
  HMAC_SHA_256: info('HMAC_SHA_256', 'GENERATE_VERIFY_MAC', 'HMAC', 'sha256'),
  HMAC_SHA_384: info('HMAC_SHA_384', 'GENERATE_VERIFY_MAC', 'HMAC', 'sha384'),
  HMAC_SHA_512: info('HMAC_SHA_512', 'GENERATE_VERIFY_MAC', 'HMAC', 'sha512'),
  ECDH: info('ECDH', 'KEY_AGREEMENT', 'ECDH'),
};

/** Every algorithm, in a stable order. */
export const ALGORITHMS: readonly Algorithm[] = Object.keys(ALGORITHM_INFO) as Algorithm[];

/**
 * Facts about an algorithm: the usage it needs, its family, its hash and digest length.
 *
 * @example
 * ```ts
 * algorithmInfo('RSASSA_PSS_SHA_256').digestBytes; // 32, also the PSS salt length
 * ```
 */
export function algorithmInfo(algorithm: Algorithm): AlgorithmInfo {
  return ALGORITHM_INFO[algorithm];
}

/** Whether `value` is an algorithm name. */
export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHM_INFO, value);
}

/**
 * The algorithms a key of `spec` with `usage` may use, following AWS KMS: ECDSA is bound to its curve's
 * hash (P-256 with SHA-256, P-384 with SHA-384, P-521 with SHA-512), HMAC to its key size.
 *
 * @example
 * ```ts
 * algorithmsFor('RSA_2048', 'ENCRYPT_DECRYPT'); // ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']
 * ```
 */
export function algorithmsFor(spec: KeySpec, usage: KeyUsage): readonly Algorithm[] {
  const family = keySpecInfo(spec).family;
  if (!keySpecInfo(spec).usages.includes(usage)) return [];
  switch (family) {
    case 'RSA':
      return usage === 'SIGN_VERIFY'
        ? [
            'RSASSA_PSS_SHA_256',
            'RSASSA_PSS_SHA_384',
            'RSASSA_PSS_SHA_512',
            'RSASSA_PKCS1_V1_5_SHA_256',
            'RSASSA_PKCS1_V1_5_SHA_384',
            'RSASSA_PKCS1_V1_5_SHA_512',
          ]
        : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
    case 'EC':
      if (usage === 'KEY_AGREEMENT') return ['ECDH'];
      return spec === 'ECC_NIST_P256'
        ? ['ECDSA_SHA_256']
        : spec === 'ECC_NIST_P384'
          ? ['ECDSA_SHA_384']
          : ['ECDSA_SHA_512'];
    case 'AES':
      return ['SYMMETRIC_DEFAULT'];
    case 'HMAC':
      return spec === 'HMAC_256'
        ? ['HMAC_SHA_256']
        : spec === 'HMAC_384'
          ? ['HMAC_SHA_384']
          : ['HMAC_SHA_512'];
  }
}

/**
 * The usage a configured algorithm implies, or the only usage a spec allows; `undefined` when the spec
 * allows several and no algorithm says which.
 */
export function impliedUsage(spec: KeySpec, algorithm?: Algorithm): KeyUsage | undefined {
  if (algorithm !== undefined) return algorithmInfo(algorithm).usage;
  const usages = keySpecInfo(spec).usages;
  return usages.length === 1 ? usages[0] : undefined;
}

/** The algorithm a key uses when the configuration names none and the spec allows only one. */
export function defaultAlgorithm(spec: KeySpec, usage: KeyUsage): Algorithm | undefined {
  const algorithms = algorithmsFor(spec, usage);
  return algorithms.length === 1 ? algorithms[0] : undefined;
}
