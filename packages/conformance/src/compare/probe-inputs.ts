import {
  type Algorithm,
  algorithmsFor,
  type Capabilities,
  type KeySpec,
  type KeyUsage,
  utf8,
} from '@keyswitch/core';
import { PREFERRED_SPECS } from '../lib/any-key.js';

/**
 * The message every probe signs, MACs and compares on both sides.
 *
 * @example
 * ```ts
 * await side.provider.sign({ ref, algorithm, message: MESSAGE });
 * ```
 */
export const MESSAGE = utf8('keyswitch compare: the same input through both providers');
/**
 * The encryption context every SYMMETRIC_DEFAULT probe binds.
 *
 * @example
 * ```ts
 * await side.provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext, context: CONTEXT });
 * ```
 */
export const CONTEXT = { tenant: 't1', purpose: 'keyswitch-compare' };

/**
 * The first key spec, cheapest first, that both manifests hold for `usage` and that allows `algorithm`.
 *
 * @example
 * ```ts
 * const spec = commonSpec(a, b, 'SIGN_VERIFY', 'ECDSA_SHA_256'); // 'ECC_NIST_P256' when both hold it
 * ```
 */
export function commonSpec(
  a: Capabilities,
  b: Capabilities,
  usage: KeyUsage,
  algorithm?: Algorithm,
): KeySpec | undefined {
  return PREFERRED_SPECS[usage].find(
    (spec) =>
      [a, b].every((capabilities) => capabilities.keySpecs[spec]?.usages.includes(usage)) &&
      (algorithm === undefined || algorithmsFor(spec, usage).includes(algorithm)),
  );
}

/**
 * Whether both manifests offer `algorithm`.
 *
 * @example
 * ```ts
 * if (bothOffer(a, b, 'ECDH')) probes.push(ecdhProbe(spec));
 * ```
 */
export function bothOffer(a: Capabilities, b: Capabilities, algorithm: Algorithm): boolean {
  return a.algorithms.includes(algorithm) && b.algorithms.includes(algorithm);
}
