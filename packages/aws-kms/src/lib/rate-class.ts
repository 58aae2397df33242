import { type Algorithm, type KeyFacts, keySpecInfo } from '@keyswitch/core';
import type { RateLimitClass } from '../rate-limits.js';

/** The KMS quota class of a cryptographic request on a key of this spec. */
export function rateClassFor(spec: KeyFacts['spec']): RateLimitClass {
  switch (keySpecInfo(spec).family) {
    case 'RSA':
      return 'rsa';
    case 'EC':
      return 'ecc';
    case 'HMAC':
      return 'hmac';
    case 'AES':
      return 'symmetric';
  }
}

/** The KMS quota class of an encryption request by its algorithm. */
export function rateClassForAlgorithm(algorithm: Algorithm): RateLimitClass {
  return algorithm === 'SYMMETRIC_DEFAULT' ? 'symmetric' : 'rsa';
}
