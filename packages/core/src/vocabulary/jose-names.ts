import type { Algorithm } from './algorithms.js';

/** JOSE algorithm names (RFC 7518) that map to a keyswitch algorithm. */
export type JoseAlgorithm =
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'RSA-OAEP'
  | 'RSA-OAEP-256'
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'ECDH-ES';

const TO_KEYSWITCH: Readonly<Record<JoseAlgorithm, Algorithm>> = {
  PS256: 'RSASSA_PSS_SHA_256',
  PS384: 'RSASSA_PSS_SHA_384',
  PS512: 'RSASSA_PSS_SHA_512',
  RS256: 'RSASSA_PKCS1_V1_5_SHA_256',
  RS384: 'RSASSA_PKCS1_V1_5_SHA_384',
  RS512: 'RSASSA_PKCS1_V1_5_SHA_512',
  ES256: 'ECDSA_SHA_256',
  ES384: 'ECDSA_SHA_384',
  ES512: 'ECDSA_SHA_512',
  'RSA-OAEP': 'RSAES_OAEP_SHA_1',
  'RSA-OAEP-256': 'RSAES_OAEP_SHA_256',
  HS256: 'HMAC_SHA_256',
  HS384: 'HMAC_SHA_384',
  HS512: 'HMAC_SHA_512',
  'ECDH-ES': 'ECDH',
};

const TO_JOSE: ReadonlyMap<Algorithm, JoseAlgorithm> = new Map(
  (Object.entries(TO_KEYSWITCH) as [JoseAlgorithm, Algorithm][]).map(([jose, ks]) => [ks, jose]),
);

/**
 * The keyswitch (AWS KMS) algorithm for a JOSE `alg`, or `undefined` when there is none.
 *
 * @example
 * ```ts
 * fromJoseAlgorithm('ES256'); // 'ECDSA_SHA_256'
 * ```
 */
export function fromJoseAlgorithm(alg: string): Algorithm | undefined {
  return Object.hasOwn(TO_KEYSWITCH, alg) ? TO_KEYSWITCH[alg as JoseAlgorithm] : undefined;
}

/**
 * The JOSE `alg` for a keyswitch algorithm, or `undefined` (SYMMETRIC_DEFAULT has none).
 *
 * @example
 * ```ts
 * toJoseAlgorithm('RSAES_OAEP_SHA_256'); // 'RSA-OAEP-256'
 * ```
 */
export function toJoseAlgorithm(algorithm: Algorithm): JoseAlgorithm | undefined {
  return TO_JOSE.get(algorithm);
}
