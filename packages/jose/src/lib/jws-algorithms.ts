import {
  algorithmInfo,
  type CurveName,
  fromJoseAlgorithm,
  type HashName,
  type KeySpec,
  keySpecInfo,
  type SigningAlgorithm,
} from '@keyswitch/core';

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

const ECDSA_CURVES: Readonly<Partial<Record<JwsAlgorithm, KeySpec>>> = {
  ES256: 'ECC_NIST_P256',
  ES384: 'ECC_NIST_P384',
  ES512: 'ECC_NIST_P521',
};

/** Built from core's vocabulary (JOSE names, hashes, curves), so the facts have one home. */
const TABLE = Object.fromEntries(
  (['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'] as const).map((alg) => {
    const keyswitch = fromJoseAlgorithm(alg) as SigningAlgorithm;
    const info = algorithmInfo(keyswitch);
    const curveSpec = ECDSA_CURVES[alg];
    const curve =
      curveSpec === undefined
        ? {}
        : { curve: keySpecInfo(curveSpec).curve!, coordinateBytes: keySpecInfo(curveSpec).coordinateBytes! };
    const entry: JwsAlgorithmInfo = {
      alg,
      keyswitch,
      family: info.family as JwsAlgorithmInfo['family'],
      hash: info.hash!,
      digestBytes: info.digestBytes!,
      ...curve,
    };
    return [alg, Object.freeze(entry)];
  }),
) as Readonly<Record<JwsAlgorithm, JwsAlgorithmInfo>>;

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
