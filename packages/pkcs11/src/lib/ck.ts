/**
 * The PKCS#11 v2.40 constants this backend uses, by their specification names. They are the standard's
 * numbers, so templates and mechanisms can be built (and unit-tested) without loading a module.
 */

/** Attribute types (CKA_*). */
export const CKA = {
  CLASS: 0x0,
  TOKEN: 0x1,
  PRIVATE: 0x2,
  LABEL: 0x3,
  VALUE: 0x11,
  KEY_TYPE: 0x100,
  ID: 0x102,
  SENSITIVE: 0x103,
  ENCRYPT: 0x104,
  DECRYPT: 0x105,
  WRAP: 0x106,
  UNWRAP: 0x107,
  SIGN: 0x108,
  SIGN_RECOVER: 0x109,
  VERIFY: 0x10a,
  VERIFY_RECOVER: 0x10b,
  DERIVE: 0x10c,
  MODULUS: 0x120,
  MODULUS_BITS: 0x121,
  PUBLIC_EXPONENT: 0x122,
  PRIVATE_EXPONENT: 0x123,
  PRIME_1: 0x124,
  PRIME_2: 0x125,
  EXPONENT_1: 0x126,
  EXPONENT_2: 0x127,
  COEFFICIENT: 0x128,
  VALUE_LEN: 0x161,
  EXTRACTABLE: 0x162,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
} as const;

/** Object classes (CKO_*). */
export const CKO = {
  PUBLIC_KEY: 2,
  PRIVATE_KEY: 3,
  SECRET_KEY: 4,
} as const;

/** Key types (CKK_*). */
export const CKK = {
  RSA: 0x0,
  EC: 0x3,
  GENERIC_SECRET: 0x10,
  AES: 0x1f,
  SHA256_HMAC: 0x2b,
  SHA384_HMAC: 0x2c,
  SHA512_HMAC: 0x2d,
} as const;

/** Mechanisms (CKM_*). */
export const CKM = {
  RSA_PKCS_KEY_PAIR_GEN: 0x0,
  RSA_PKCS: 0x1,
  RSA_PKCS_OAEP: 0x9,
  RSA_PKCS_PSS: 0xd,
  SHA_1: 0x220,
  SHA256: 0x250,
  SHA256_HMAC: 0x251,
  SHA384: 0x260,
  SHA384_HMAC: 0x261,
  SHA512: 0x270,
  SHA512_HMAC: 0x271,
  GENERIC_SECRET_KEY_GEN: 0x350,
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
  ECDSA_SHA256: 0x1044,
  ECDH1_DERIVE: 0x1050,
  AES_KEY_GEN: 0x1080,
  AES_GCM: 0x1087,
} as const;

/** MGF1 functions (CKG_*). */
export const CKG = {
  MGF1_SHA1: 1,
  MGF1_SHA256: 2,
  MGF1_SHA384: 3,
  MGF1_SHA512: 4,
} as const;

/** Key derivation functions (CKD_*). */
export const CKD_NULL = 1;
/** OAEP encoding parameter source: data specified (an empty label). */
export const CKZ_DATA_SPECIFIED = 1;
/** The normal user (CKU_USER). */
export const CKU_USER = 1;

/** Flags (CKF_*) for sessions, C_Initialize and token information. */
export const CKF = {
  RNG: 0x1,
  RW_SESSION: 0x2,
  OS_LOCKING_OK: 0x2,
  SERIAL_SESSION: 0x4,
  LOGIN_REQUIRED: 0x4,
  USER_PIN_INITIALIZED: 0x8,
  TOKEN_INITIALIZED: 0x400,
} as const;

/** pkcs11js's own tags for mechanism parameter structures (`CK_PARAMS_*` in pkcs11js 2.x). */
export const CK_PARAMS = {
  RSA_OAEP: 4,
  RSA_PSS: 5,
  EC_DH: 6,
  AES_GCM_v240: 7,
} as const;
