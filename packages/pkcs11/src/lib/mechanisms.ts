import { createHash } from 'node:crypto';
import type { HashName, MacAlgorithm } from '@keyswitch/core';
import type { Mechanism } from 'pkcs11js';
import { CK_PARAMS, CKD_NULL, CKG, CKM, CKZ_DATA_SPECIFIED } from './ck.js';

const HASH_MECHANISM: Readonly<Record<HashName, number>> = {
  sha1: CKM.SHA_1,
  sha256: CKM.SHA256,
  sha384: CKM.SHA384,
  sha512: CKM.SHA512,
};

const MGF1: Readonly<Record<HashName, number>> = {
  sha1: CKG.MGF1_SHA1,
  sha256: CKG.MGF1_SHA256,
  sha384: CKG.MGF1_SHA384,
  sha512: CKG.MGF1_SHA512,
};

const HASH_BYTES: Readonly<Record<HashName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/**
 * DER prefixes of the PKCS#1 v1.5 DigestInfo for each hash (RFC 8017 section 9.2, note 1): the prefix
 * followed by the digest is what CKM_RSA_PKCS pads and signs.
 */
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, Buffer>> = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const HMAC_MECHANISM: Readonly<Record<MacAlgorithm, number>> = {
  HMAC_SHA_256: CKM.SHA256_HMAC,
  HMAC_SHA_384: CKM.SHA384_HMAC,
  HMAC_SHA_512: CKM.SHA512_HMAC,
};

/** The digest of a message, computed in the process (hashing is not a key operation). */
export function digestOf(hash: HashName, message: Uint8Array): Buffer {
  return createHash(hash).update(message).digest();
}

/**
 * CKM_RSA_PKCS_PSS over a digest keyswitch computed: the same hash for the message and MGF1, and a salt
 * as long as the digest (what AWS KMS and the JOSE PS* algorithms use).
 */
export function rsaPssMechanism(hash: HashName): Mechanism {
  return {
    mechanism: CKM.RSA_PKCS_PSS,
    parameter: {
      type: CK_PARAMS.RSA_PSS,
      hashAlg: HASH_MECHANISM[hash],
      mgf: MGF1[hash],
      saltLen: HASH_BYTES[hash],
    },
  } as Mechanism;
}

/** CKM_RSA_PKCS, which pads and signs the DigestInfo built by {@link digestInfo}. */
export const RSA_PKCS_MECHANISM: Mechanism = { mechanism: CKM.RSA_PKCS };

/** The DER DigestInfo of a digest, for PKCS#1 v1.5 signatures with CKM_RSA_PKCS. */
export function digestInfo(hash: HashName, digest: Uint8Array): Buffer {
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}

/** CKM_RSA_PKCS_OAEP with the same hash for OAEP and MGF1, and an empty label. */
export function rsaOaepMechanism(hash: HashName): Mechanism {
  return {
    mechanism: CKM.RSA_PKCS_OAEP,
    parameter: {
      type: CK_PARAMS.RSA_OAEP,
      hashAlg: HASH_MECHANISM[hash],
      mgf: MGF1[hash],
      source: CKZ_DATA_SPECIFIED,
    },
  } as Mechanism;
}

/** CKM_ECDSA, which signs a digest and returns r || s. */
export const ECDSA_MECHANISM: Mechanism = { mechanism: CKM.ECDSA };

/** The size of an AES-GCM IV keyswitch uses, in bytes (96 bits). */
export const GCM_IV_BYTES = 12;
/** The size of an AES-GCM tag keyswitch uses, in bytes (128 bits). */
export const GCM_TAG_BYTES = 16;

/**
 * CKM_AES_GCM with the v2.40 parameter structure (ulIvBits set: NSS refuses it unset), a 96-bit IV and a
 * 128-bit tag.
 */
export function aesGcmMechanism(iv: Buffer, aad: Buffer): Mechanism {
  return {
    mechanism: CKM.AES_GCM,
    parameter: {
      type: CK_PARAMS.AES_GCM_v240,
      iv,
      ivBits: GCM_IV_BYTES * 8,
      aad,
      tagBits: GCM_TAG_BYTES * 8,
    },
  } as Mechanism;
}

/** The HMAC mechanism of a MAC algorithm (CKM_SHA256_HMAC…), and its output length. */
export function hmacMechanism(algorithm: MacAlgorithm): { mechanism: Mechanism; length: number } {
  return {
    mechanism: { mechanism: HMAC_MECHANISM[algorithm] },
    length: algorithm === 'HMAC_SHA_256' ? 32 : algorithm === 'HMAC_SHA_384' ? 48 : 64,
  };
}

/** CKM_ECDH1_DERIVE with the null KDF: the derived secret is the x coordinate of the shared point. */
export function ecdhMechanism(peerPoint: Buffer): Mechanism {
  return {
    mechanism: CKM.ECDH1_DERIVE,
    parameter: { type: CK_PARAMS.EC_DH, kdf: CKD_NULL, publicData: peerPoint },
  } as Mechanism;
}
