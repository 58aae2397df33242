import type { X509Certificate } from 'node:crypto';
import { invalidInput } from '@keyswitch/core';
import { type ExtendedKeyUsageName, type KeyUsageName, validateCertificatePath } from '@keyswitch/x509';
import { type CertificateInput, toCertificate } from '../lib/certificate-input.js';

export type { CertificateInput } from '../lib/certificate-input.js';

/**
 * Options for {@link verifyCertificateChain}.
 *
 * @example
 * ```ts
 * verifyCertificateChain(x5c, { trustedRoots: [dsCaRootPem], maxLength: 3 });
 * ```
 */
export interface VerifyCertificateChainOptions {
  /** The trust anchors: for 3-D Secure, the DS CA root(s) of the card scheme. At least one. */
  readonly trustedRoots: readonly CertificateInput[];
  /** The time at which every certificate must be valid; now by default. */
  readonly currentDate?: Date;
  /** Longest chain accepted, leaf and intermediates (not counting a trusted root): 5 by default. */
  readonly maxLength?: number;
  /** Key usages the leaf must allow when it has a keyUsage extension (`verifyJws` asks for `digitalSignature`). */
  readonly keyUsage?: readonly KeyUsageName[];
  /** A purpose every certificate with an extendedKeyUsage extension must list (name or OID); none by default. */
  readonly extendedKeyUsage?: ExtendedKeyUsageName;
}

/**
 * A chain that verified: the certificates as given, leaf first, and the trusted root it ends at.
 *
 * @example
 * ```ts
 * const { leaf, trustAnchor } = verifyCertificateChain(x5c, { trustedRoots });
 * leaf.subject; // 'CN=acs.example-bank.com'
 * ```
 */
export interface VerifiedCertificateChain {
  readonly certificates: readonly X509Certificate[];
  readonly leaf: X509Certificate;
  readonly trustAnchor: X509Certificate;
}

/**
 * Verifies a certificate chain (leaf first, as in `x5c`) up to one of the trusted roots by RFC 5280 path
 * validation (`validateCertificatePath` of `@keyswitch/x509`, cross-checked against `openssl verify`):
 * each certificate is signed by the next and names it as issuer; each issuer is a CA allowed to sign
 * certificates; path length constraints (the root's included) and name constraints hold; no certificate
 * has a critical extension that is not processed; every certificate and the root are valid at
 * `currentDate`; the leaf's keyUsage, when present, allows what `keyUsage` lists, and every
 * certificate's extendedKeyUsage lists `extendedKeyUsage` when one is asked for. The last certificate
 * either is a trusted root or is issued by one.
 *
 * Not checked: revocation (CRL, OCSP) and certificate policies.
 *
 * @throws INVALID_INPUT naming the certificate (by its position) and the rule it breaks
 *
 * @example
 * ```ts
 * const { leaf } = verifyCertificateChain(header.x5c, { trustedRoots: [dsCaRootPem] });
 * ```
 */
export function verifyCertificateChain(
  chain: readonly CertificateInput[],
  options: VerifyCertificateChainOptions,
): VerifiedCertificateChain {
  if (!Array.isArray(chain) || chain.length === 0) {
    throw invalidInput('the certificate chain must be a non-empty array');
  }
  const roots = (options.trustedRoots ?? []).map((root, index) =>
    toCertificate(root, `trusted root ${index}`),
  );
  const certificates = chain.map((entry, index) => toCertificate(entry, `certificate ${index} of the chain`));
  const path = validateCertificatePath(certificates, {
    trustAnchors: roots,
    ...(options.keyUsage === undefined ? {} : { keyUsage: options.keyUsage }),
    ...(options.currentDate === undefined ? {} : { at: options.currentDate }),
    ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
    ...(options.extendedKeyUsage === undefined ? {} : { extendedKeyUsage: options.extendedKeyUsage }),
  });
  return { certificates, leaf: path.endEntity, trustAnchor: path.trustAnchor };
}
