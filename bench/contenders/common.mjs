/**
 * What the PKCS#11 contenders share: the keys they sign with (made once on the token, by keyswitch,
 * before any contender starts), the message, and the token they find by label.
 */
import { createHash } from 'node:crypto';

/** The token objects every contender signs with, by label. */
export const KEYS = {
  'ecdsa-p256-sign': { label: 'h2h-ecdsa', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
  'rsa-2048-pss-sign': { label: 'h2h-pss', spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
};

/** The operations of the head-to-head, in table order. */
export const SIGN_OPERATIONS = Object.keys(KEYS);

/** The token's label (scripts/test-tokens.sh makes "keyswitch"). */
export function tokenLabel(env) {
  return env.KEYSWITCH_SOFTHSM2_TOKEN ?? 'keyswitch';
}

/** SHA-256, computed in the process as every contender does before CKM_ECDSA or CKM_RSA_PKCS_PSS. */
export function sha256(data) {
  return createHash('sha256').update(data).digest();
}

/**
 * A fixed set of PKCS#11 sessions lent one per call, so that N calls in flight use exactly N sessions.
 *
 * @template S
 * @param {S[]} sessions
 */
export function sessionLender(sessions) {
  const free = sessions.slice();
  return async (call) => {
    const session = free.pop();
    if (session === undefined) throw new Error('more calls in flight than sessions');
    try {
      return await call(session);
    } finally {
      free.push(session);
    }
  };
}
