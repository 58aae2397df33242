/**
 * What the PKCS#11 contenders share: the keys they use (made once on the token, by keyswitch, before any
 * contender starts), the operations, and the token they find by label.
 */
import { createHash } from 'node:crypto';

/**
 * The operations of the head-to-head, in table order, and the token object each uses (label, and its
 * RFC 7512 `type`).
 * OAEP uses SHA-1: SoftHSM2 2.6 has no OAEP with SHA-256 (CKR_ARGUMENTS_BAD).
 */
export const OPERATIONS = {
  'ecdsa-p256-sign': {
    label: 'ECDSA P-256 sign',
    key: 'h2h-ecdsa',
    object: 'private',
    spec: 'ECC_NIST_P256',
    usage: 'SIGN_VERIFY',
    algorithm: 'ECDSA_SHA_256',
  },
  'rsa-2048-pss-sign': {
    label: 'RSA-2048 PSS sign',
    key: 'h2h-pss',
    object: 'private',
    spec: 'RSA_2048',
    usage: 'SIGN_VERIFY',
    algorithm: 'RSASSA_PSS_SHA_256',
  },
  'rsa-2048-oaep-decrypt': {
    label: 'RSA-2048 OAEP decrypt',
    key: 'h2h-oaep',
    object: 'private',
    spec: 'RSA_2048',
    usage: 'ENCRYPT_DECRYPT',
    algorithm: 'RSAES_OAEP_SHA_1',
    note: 'SHA-1: SoftHSM2 2.6 has no OAEP with SHA-256',
  },
  'hmac-sha-256': {
    label: 'HMAC-SHA-256',
    key: 'h2h-hmac',
    object: 'secret-key',
    spec: 'HMAC_256',
    usage: 'GENERATE_VERIFY_MAC',
    algorithm: 'HMAC_SHA_256',
  },
  'ecdh-p256-derive': {
    label: 'ECDH P-256 derive',
    key: 'h2h-ecdh',
    object: 'private',
    spec: 'ECC_NIST_P256',
    usage: 'KEY_AGREEMENT',
    note: 'CKM_ECDH1_DERIVE, null KDF; the derived session object read and destroyed',
  },
};

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
