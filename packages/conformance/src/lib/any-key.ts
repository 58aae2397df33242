import { KEY_SPECS, type KeySpec, type KeyUsage, keySpecInfo } from '@keyswitch/core';
import { declaredAlgorithm } from './exercise-key.js';
import type { Session } from './group.js';
import type { PreparedKey } from './key-pool.js';
import { NotRun, NotSupported } from './outcomes.js';

/** Key specs in the order checks that need "some key of this usage" prefer them: cheapest first. */
export const PREFERRED_SPECS: Readonly<Record<KeyUsage, readonly KeySpec[]>> = {
  SIGN_VERIFY: ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'RSA_2048', 'RSA_3072', 'RSA_4096'],
  ENCRYPT_DECRYPT: ['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096'],
  GENERATE_VERIFY_MAC: ['HMAC_256', 'HMAC_384', 'HMAC_512'],
  KEY_AGREEMENT: ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'],
};

/** The preferred key specs of `usage` that are in `family` (or all of them). */
export function preferredSpecs(usage: KeyUsage, family?: 'RSA' | 'EC' | 'AES' | 'HMAC'): readonly KeySpec[] {
  return PREFERRED_SPECS[usage].filter((spec) => family === undefined || keySpecInfo(spec).family === family);
}

/**
 * The first key of `usage` the session can get among `specs` (default: all, cheapest first) whose spec has
 * a declared algorithm; undefined when there is none.
 */
export async function anyKey(
  session: Session,
  usage: KeyUsage,
  specs: readonly KeySpec[] = PREFERRED_SPECS[usage],
): Promise<PreparedKey | undefined> {
  for (const spec of specs.filter((candidate) => KEY_SPECS.includes(candidate))) {
    if (
      !session.pool.holds(spec, usage) ||
      declaredAlgorithm(session.capabilities, spec, usage) === undefined
    )
      continue;
    try {
      return await session.pool.key(spec, usage);
    } catch (error) {
      if (error instanceof NotSupported || error instanceof NotRun) continue;
      throw error;
    }
  }
  return undefined;
}
