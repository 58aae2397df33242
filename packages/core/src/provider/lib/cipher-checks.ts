import { KeyswitchError } from '../../errors.js';
import { algorithmInfo, type EncryptionAlgorithm } from '../../vocabulary/algorithms.js';
import { type KeySpec, keySpecInfo } from '../../vocabulary/key-specs.js';
import { type EncryptionContext, LIMITS } from '../contract.js';

/**
 * The encryption context the hooks receive: bound by SYMMETRIC_DEFAULT only; a non-empty context with
 * RSA-OAEP is the caller's mistake.
 *
 * @throws INVALID_INPUT for a non-empty context with an RSA algorithm
 *
 * @example
 * ```ts
 * cipherContext('RSAES_OAEP_SHA_256', {}); // undefined
 * ```
 */
export function cipherContext(
  algorithm: EncryptionAlgorithm,
  context: EncryptionContext | undefined,
): EncryptionContext | undefined {
  if (context !== undefined && algorithm !== 'SYMMETRIC_DEFAULT' && Object.keys(context).length > 0) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `an encryption context can only be used with SYMMETRIC_DEFAULT, not ${algorithm}`,
    );
  }
  return algorithm === 'SYMMETRIC_DEFAULT' ? context : undefined;
}

/**
 * The largest plaintext a key encrypts in one call: 4,096 bytes for SYMMETRIC_DEFAULT, the OAEP bound
 * (modulus bytes − 2 × digest bytes − 2) for RSA.
 *
 * @example
 * ```ts
 * maxPlaintextBytes('RSA_2048', 'RSAES_OAEP_SHA_256'); // 190
 * ```
 */
export function maxPlaintextBytes(spec: KeySpec, algorithm: EncryptionAlgorithm): number {
  return algorithm === 'SYMMETRIC_DEFAULT'
    ? LIMITS.maxSymmetricPlaintextBytes
    : keySpecInfo(spec).bits / 8 - 2 * algorithmInfo(algorithm).digestBytes! - 2;
}
