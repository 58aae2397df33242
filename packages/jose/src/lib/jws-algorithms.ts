import type { CurveName, HashName, SigningAlgorithm } from '@keyswitch/core';

/** The JWS algorithms keyswitch signs and verifies (RFC 7518 §3). */
export type JwsAlgorithm =
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'ES256'
  | 'ES384'
  | 'ES512';

/** What verifying and signing need to know about a JWS algorithm. */
export interface JwsAlgorithmInfo {
  readonly alg: JwsAlgorithm;
  readonly keyswitch: SigningAlgorithm;
  readonly family: 'RSA_PSS' | 'RSA_PKCS1' | 'ECDSA';
  readonly hash: HashName;
  readonly digestBytes: number;
  /** ECDSA only: the curve the algorithm is bound to, and its coordinate size. */
  readonly curve?: CurveName;
  readonly coordinateBytes?: number;
}

const TABLE: Readonly<Record<JwsAlgorithm, JwsAlgorithmInfo>> = {
  PS256: {
    alg: 'PS256',
    keyswitch: 'RSASSA_PSS_SHA_256',
    family: 'RSA_PSS',
    hash: 'sha256',
    digestBytes: 32,
  },
  PS384: {
    alg: 'PS384',
    keyswitch: 'RSASSA_PSS_SHA_384',
    family: 'RSA_PSS',
    hash: 'sha384',
    digestBytes: 48,
  },
  PS512: {
    alg: 'PS512',
    keyswitch: 'RSASSA_PSS_SHA_512',
    family: 'RSA_PSS',
    hash: 'sha512',
    digestBytes: 64,
  },
  RS256: {
    alg: 'RS256',
    keyswitch: 'RSASSA_PKCS1_V1_5_SHA_256',
    family: 'RSA_PKCS1',
    hash: 'sha256',
    digestBytes: 32,
  },
  RS384: {
    alg: 'RS384',
    keyswitch: 'RSASSA_PKCS1_V1_5_SHA_384',
    family: 'RSA_PKCS1',
    hash: 'sha384',
    digestBytes: 48,
  },
  RS512: {
    alg: 'RS512',
    keyswitch: 'RSASSA_PKCS1_V1_5_SHA_512',
    family: 'RSA_PKCS1',
    hash: 'sha512',
    digestBytes: 64,
  },
  ES256: {
    alg: 'ES256',
    keyswitch: 'ECDSA_SHA_256',
    family: 'ECDSA',
    hash: 'sha256',
    digestBytes: 32,
    curve: 'P-256',
    coordinateBytes: 32,
  },
  ES384: {
    alg: 'ES384',
    keyswitch: 'ECDSA_SHA_384',
    family: 'ECDSA',
    hash: 'sha384',
    digestBytes: 48,
    curve: 'P-384',
    coordinateBytes: 48,
  },
  ES512: {
    alg: 'ES512',
    keyswitch: 'ECDSA_SHA_512',
    family: 'ECDSA',
    hash: 'sha512',
    digestBytes: 64,
    curve: 'P-521',
    coordinateBytes: 66,
  },
};

/** Every JWS algorithm keyswitch supports. */
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = Object.keys(TABLE) as JwsAlgorithm[];

/** Facts about a JWS `alg`, or `undefined` when keyswitch does not support it. */
export function jwsAlgorithmInfo(alg: unknown): JwsAlgorithmInfo | undefined {
  return typeof alg === 'string' && Object.hasOwn(TABLE, alg) ? TABLE[alg as JwsAlgorithm] : undefined;
}

/** The JWS algorithm of a keyswitch signing algorithm. */
export function jwsAlgorithmFor(algorithm: SigningAlgorithm): JwsAlgorithmInfo | undefined {
  return Object.values(TABLE).find((info) => info.keyswitch === algorithm);
}
