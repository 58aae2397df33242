/** Key specs, in AWS KMS names. `SYMMETRIC_DEFAULT` is AES-256. */
export type KeySpec =
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'SYMMETRIC_DEFAULT'
  | 'HMAC_256'
  | 'HMAC_384'
  | 'HMAC_512';

/** What a key is for, in AWS KMS names. A key has exactly one usage. */
export type KeyUsage = 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';

/** Every key spec, in a stable order. */
export const KEY_SPECS: readonly KeySpec[] = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'SYMMETRIC_DEFAULT',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
];

/** Every key usage, in a stable order. */
export const KEY_USAGES: readonly KeyUsage[] = [
  'SIGN_VERIFY',
  'ENCRYPT_DECRYPT',
  'GENERATE_VERIFY_MAC',
  'KEY_AGREEMENT',
];

/** The named curves keyswitch knows, with their JOSE and OpenSSL names. */
export type CurveName = 'P-256' | 'P-384' | 'P-521';

/** What there is to know about a key spec without asking a backend. */
export interface KeySpecInfo {
  readonly spec: KeySpec;
  readonly family: 'RSA' | 'EC' | 'AES' | 'HMAC';
  /** Usages a key of this spec may have (KMS rules). */
  readonly usages: readonly KeyUsage[];
  /** RSA modulus bits, EC field bits, or secret-key bits. */
  readonly bits: number;
  /** For EC keys: the curve. */
  readonly curve?: CurveName;
  /** For EC keys: the byte length of one coordinate (and of r or s in a P1363 signature). */
  readonly coordinateBytes?: number;
  /** For EC keys: the OpenSSL / node:crypto curve name. */
  readonly namedCurve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
}

const SPEC_INFO: Readonly<Record<KeySpec, KeySpecInfo>> = {
  RSA_2048: { spec: 'RSA_2048', family: 'RSA', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], bits: 2048 },
  RSA_3072: { spec: 'RSA_3072', family: 'RSA', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], bits: 3072 },
  RSA_4096: { spec: 'RSA_4096', family: 'RSA', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], bits: 4096 },
  ECC_NIST_P256: {
    spec: 'ECC_NIST_P256',
    family: 'EC',
    usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    bits: 256,
    curve: 'P-256',
    coordinateBytes: 32,
    namedCurve: 'prime256v1',
  },
  ECC_NIST_P384: {
    spec: 'ECC_NIST_P384',
    family: 'EC',
    usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    bits: 384,
    curve: 'P-384',
    coordinateBytes: 48,
    namedCurve: 'secp384r1',
  },
  ECC_NIST_P521: {
    spec: 'ECC_NIST_P521',
    family: 'EC',
    usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    bits: 521,
    curve: 'P-521',
    coordinateBytes: 66,
    namedCurve: 'secp521r1',
  },
  SYMMETRIC_DEFAULT: { spec: 'SYMMETRIC_DEFAULT', family: 'AES', usages: ['ENCRYPT_DECRYPT'], bits: 256 },
  HMAC_256: { spec: 'HMAC_256', family: 'HMAC', usages: ['GENERATE_VERIFY_MAC'], bits: 256 },
  HMAC_384: { spec: 'HMAC_384', family: 'HMAC', usages: ['GENERATE_VERIFY_MAC'], bits: 384 },
  HMAC_512: { spec: 'HMAC_512', family: 'HMAC', usages: ['GENERATE_VERIFY_MAC'], bits: 512 },
};

/**
 * Facts about a key spec: family, allowed usages, sizes, curve.
 *
 * @example
 * ```ts
 * keySpecInfo('ECC_NIST_P256').coordinateBytes; // 32
 * ```
 */
export function keySpecInfo(spec: KeySpec): KeySpecInfo {
  return SPEC_INFO[spec];
}

/** Whether `value` is a key spec name. */
export function isKeySpec(value: unknown): value is KeySpec {
  return typeof value === 'string' && Object.hasOwn(SPEC_INFO, value);
}

/** Whether `value` is a key usage name. */
export function isKeyUsage(value: unknown): value is KeyUsage {
  return typeof value === 'string' && (KEY_USAGES as readonly string[]).includes(value);
}

/** The EC key spec for a curve name (JOSE `crv`). */
export function keySpecForCurve(curve: CurveName): KeySpec {
  switch (curve) {
    case 'P-256':
      return 'ECC_NIST_P256';
    case 'P-384':
      return 'ECC_NIST_P384';
    case 'P-521':
      return 'ECC_NIST_P521';
  }
}
