import type { SignatureFormat, SigningAlgorithm } from '@keyswitch/core';

/**
 * What signs a JWS: a keyswitch `Signer` handle (`ks.signer(name)`) satisfies it, and so does
 * anything else that signs with a key it keeps (a test double, another HSM client). The private key never
 * reaches this package.
 *
 * @example
 * ```ts
 * const signer: JwsSigner = ks.signer('acs-signing'); // ECDSA_SHA_256 → ES256
 * const stub: JwsSigner = {
 *   algorithm: 'ECDSA_SHA_256',
 *   sign: async (message) => new Uint8Array(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' })),
 * };
 * ```
 */
export interface JwsSigner {
  /** The keyswitch (AWS KMS) name of the signing algorithm; it decides the JWS `alg`. */
  readonly algorithm: SigningAlgorithm;
  /**
   * Signs the message, of any length (a keyswitch signer hashes locally what its backend cannot take whole).
   * ECDSA signatures may come back in either format; `P1363` is asked for.
   */
  sign(message: Uint8Array, options?: { readonly format?: SignatureFormat }): Promise<Uint8Array>;
  /**
   * Optional: the signer's public key. With it, `kid: true` can name the key by its RFC 7638 thumbprint and
   * the `x5c` leaf certificate is checked against the key before anything is signed.
   */
  publicKey?(): Promise<{ readonly spki: Uint8Array; readonly kid?: string }>;
}
