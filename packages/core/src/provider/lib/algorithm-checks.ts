import { withArticle } from '../../english/with-article.js';
import { KeyswitchError } from '../../errors.js';
import { type Algorithm, algorithmInfo, algorithmsFor, isAlgorithm } from '../../vocabulary/algorithms.js';
import type { KeyUsage } from '../../vocabulary/key-specs.js';
import type { Capabilities } from '../contract.js';
import type { KeyFacts } from '../hook-inputs.js';

/**
 * Throws INVALID_INPUT unless `algorithm` is a known algorithm of `usage`.
 *
 * @example
 * ```ts
 * assertAlgorithmOfUsage('RSAES_OAEP_SHA_256', 'ENCRYPT_DECRYPT'); // passes
 * assertAlgorithmOfUsage('HMAC_SHA_256', 'SIGN_VERIFY'); // throws INVALID_INPUT
 * ```
 */
export function assertAlgorithmOfUsage(algorithm: unknown, usage: KeyUsage): asserts algorithm is Algorithm {
  if (!isAlgorithm(algorithm) || algorithmInfo(algorithm).usage !== usage) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `${JSON.stringify(algorithm)} is not ${withArticle(usage)} algorithm`,
    );
  }
}

/**
 * Throws UNSUPPORTED_ALGORITHM unless the backend's manifest lists `algorithm`.
 *
 * @example
 * ```ts
 * assertBackendAlgorithm('ECDSA_SHA_256', await provider.capabilities());
 * ```
 */
export function assertBackendAlgorithm(algorithm: Algorithm, capabilities: Capabilities): void {
  if (!capabilities.algorithms.includes(algorithm)) {
    throw new KeyswitchError('UNSUPPORTED_ALGORITHM', `this backend does not support ${algorithm}`);
  }
}

/**
 * Throws USAGE_MISMATCH unless `usage` is one of the key's usages and its spec allows `algorithm` for it.
 *
 * @example
 * ```ts
 * const key = { ref, spec: 'RSA_2048', usage: 'SIGN_VERIFY', usages: ['SIGN_VERIFY'] } as const;
 * assertKeyAllows(key, 'ECDSA_SHA_256', 'SIGN_VERIFY'); // throws: not an RSA algorithm
 * ```
 */
export function assertKeyAllows(key: KeyFacts, algorithm: Algorithm, usage: KeyUsage): void {
  if (!key.usages.includes(usage)) {
    throw new KeyswitchError(
      'USAGE_MISMATCH',
      `the key's usage is ${key.usages.join(' and ')}; ${algorithm} needs ${usage}`,
    );
  }
  const allowed = algorithmsFor(key.spec, usage);
  if (!allowed.includes(algorithm)) {
    throw new KeyswitchError(
      'USAGE_MISMATCH',
      `${algorithm} cannot be used with ${withArticle(key.spec)} key; allowed: ${allowed.join(', ')}`,
    );
  }
}
