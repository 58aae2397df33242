import type { SignatureFormat, SigningAlgorithm } from '@keyswitch/core';

/**
 * What signs a CSR or a certificate: a keyswitch `Signer` handle (`ks.signer('acs-signing')`) satisfies it,
 * and so does anything that signs with a key it keeps and can tell its public key. The private key never
 * reaches this package.
 *
 * @example
 * ```ts
 * const signer: CertificateSigner = ks.signer('ds-ca');
 * const viaProvider: CertificateSigner = {
 *   algorithm: 'ECDSA_SHA_256',
 *   sign: (message, options) =>
 *     hsm.sign({ ref: 'ds-ca', algorithm: 'ECDSA_SHA_256', message, signatureFormat: options?.format ?? 'DER' }),
 *   publicKey: () => hsm.getPublicKey('ds-ca'),
 * };
 * ```
 */
export interface CertificateSigner {
  /**
   * The keyswitch (AWS KMS) name of the signing algorithm, which decides the X.509 signature algorithm:
   * RSASSA_PSS_SHA_* → rsassaPss (hash, MGF1 with the same hash, salt = digest length), RSASSA_PKCS1_V1_5_SHA_*
   * → sha*WithRSAEncryption, ECDSA_SHA_* → ecdsa-with-SHA*.
   */
  readonly algorithm: SigningAlgorithm;
  /** Signs the message; ECDSA signatures are asked for, and must come, in DER. */
  sign(message: Uint8Array, options?: { readonly format?: SignatureFormat }): Promise<Uint8Array>;
  /**
   * Optional: signs a SHA-2 digest the caller computed. Used for to-be-signed data over 4,096 bytes, the AWS
   * KMS limit for whole messages.
   */
  signDigest?(digest: Uint8Array, options?: { readonly format?: SignatureFormat }): Promise<Uint8Array>;
  /** The signer's public key (anything with SPKI DER bytes: a keyswitch `PublicKey`). */
  publicKey(): Promise<{ readonly spki: Uint8Array }>;
}
