import {
  algorithmInfo,
  type KeySpec,
  KeyswitchError,
  keySpecInfo,
  type SignInput,
  type SigningAlgorithm,
} from '@keyswitch/core';
import { digestInfo, digestOf, ECDSA_MECHANISM, RSA_PKCS_MECHANISM, rsaPssMechanism } from './mechanisms.js';
import type { CryptoCall } from './worker-protocol.js';

/**
 * The digest a sign or verify input stands for: a DIGEST as given, a RAW message hashed here (the token
 * signs digests only).
 *
 * @example
 * ```ts
 * const digest = signingDigest({ algorithm: 'ECDSA_SHA_256', message, messageType: 'RAW' });
 * ```
 */
export function signingDigest(input: SignInput): Buffer {
  const hash = algorithmInfo(input.algorithm).hash!;
  return input.messageType === 'DIGEST' ? Buffer.from(input.message) : digestOf(hash, input.message);
}

/**
 * The C_Sign call for `algorithm` with a key of `spec`: CKM_ECDSA over the digest (answering r‖s),
 * CKM_RSA_PKCS_PSS over the digest, or CKM_RSA_PKCS over its DigestInfo.
 *
 * @example
 * ```ts
 * const signature = await crypto.call(session, key, privateKey, signCall('ECDSA_SHA_256', 'ECC_NIST_P256', digest));
 * ```
 */
export function signCall(algorithm: SigningAlgorithm, spec: KeySpec, digest: Buffer): CryptoCall {
  const info = algorithmInfo(algorithm);
  const size = keySpecInfo(spec);
  if (info.family === 'ECDSA') {
    return { op: 'sign', mechanism: ECDSA_MECHANISM, data: digest, outputLength: 2 * size.coordinateBytes! };
  }
  const pss = info.family === 'RSA_PSS';
  return {
    op: 'sign',
    mechanism: pss ? rsaPssMechanism(info.hash!) : RSA_PKCS_MECHANISM,
    data: pss ? digest : digestInfo(info.hash!, digest),
    outputLength: size.bits / 8,
  };
}

/**
 * The C_Verify call for `algorithm`: ECDSA signatures are r‖s of the curve's size (the core converts and
 * length-checks the caller's signature).
 *
 * @example
 * ```ts
 * const valid = await crypto.verify(session, key, publicKey, verifyCall('RSASSA_PSS_SHA_256', digest, signature));
 * ```
 */
export function verifyCall(
  algorithm: SigningAlgorithm,
  digest: Buffer,
  signature: Uint8Array,
): Extract<CryptoCall, { op: 'verify' }> {
  const info = algorithmInfo(algorithm);
  if (info.family === 'ECDSA') {
    return { op: 'verify', mechanism: ECDSA_MECHANISM, data: digest, signature: Buffer.from(signature) };
  }
  const pss = info.family === 'RSA_PSS';
  return {
    op: 'verify',
    mechanism: pss ? rsaPssMechanism(info.hash!) : RSA_PKCS_MECHANISM,
    data: pss ? digest : digestInfo(info.hash!, digest),
    signature: Buffer.from(signature),
  };
}

/**
 * A C_Sign output checked against its size: a signature or MAC is exactly `outputLength` bytes (r‖s of
 * the curve, the modulus, the digest: the call's `outputLength`). Anything else is a faulty token, never a signature to hand on.
 *
 * @throws INTERNAL (not retryable) naming the token when the output has another size
 * @example
 * ```ts
 * const signature = signatureFromToken(output, 64, 'payments'); // ECDSA on P-256
 * ```
 */
export function signatureFromToken(output: Buffer, outputLength: number, tokenLabel: string): Buffer {
  if (output.length === outputLength) return output;
  throw new KeyswitchError(
    'INTERNAL',
    `token "${tokenLabel}" returned a C_Sign output of ${output.length} bytes where ${outputLength} were due: the token is faulty`,
    { retryable: false },
  );
}
