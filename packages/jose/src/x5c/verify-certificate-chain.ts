import type { X509Certificate } from 'node:crypto';
import { type CertificateInput, toCertificate, validityOf } from '../lib/certificate-input.js';
import { invalidInput } from '../lib/errors.js';

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
 * Verifies a certificate chain (leaf first, as in `x5c`) up to one of the trusted roots with node:crypto:
 * each certificate is signed by the next, each issuer is a CA (basicConstraints cA) whose subject is the
 * child's issuer (and whose keyUsage, when present, allows certificate signing), every certificate and the
 * root are valid at `currentDate`, and the last certificate either is a trusted root or is signed by one.
 *
 * Not checked: revocation (CRL, OCSP), name constraints, policies, and path length constraints.
 *
 * @throws INVALID_INPUT naming the certificate (by its position) and the reason
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
  const maxLength = options.maxLength ?? 5;
  if (!Array.isArray(chain) || chain.length === 0) {
    throw invalidInput('the certificate chain must be a non-empty array');
  }
  if (chain.length > maxLength + 1) {
    throw invalidInput(
      `the certificate chain has ${chain.length} certificates; at most ${maxLength} are accepted`,
    );
  }
  const roots = (options.trustedRoots ?? []).map((root, index) =>
    toCertificate(root, `trusted root ${index}`),
  );
  if (roots.length === 0)
    throw invalidInput('at least one trusted root is needed to verify a certificate chain');
  const at = options.currentDate ?? new Date();
  const certificates = chain.map((entry, index) => toCertificate(entry, `certificate ${index} of the chain`));

  for (const [index, certificate] of certificates.entries()) {
    assertValidAt(certificate, at, `certificate ${index} of the chain`);
  }
  for (let index = 0; index + 1 < certificates.length; index += 1) {
    assertIssuedBy(
      certificates[index]!,
      certificates[index + 1]!,
      `certificate ${index}`,
      `certificate ${index + 1}`,
    );
  }

  const last = certificates[certificates.length - 1]!;
  // The chain may end with the trusted root itself (pinned), or with a certificate a trusted root issued.
  const pinned = roots.find((root) => root.fingerprint256 === last.fingerprint256);
  if (pinned !== undefined) return { certificates, leaf: certificates[0]!, trustAnchor: pinned };
  for (const root of roots) {
    if (last.checkIssued(root) && signedBy(last, root)) {
      assertValidAt(root, at, 'the trusted root');
      if (!root.ca) throw invalidInput('the trusted root that issued the chain is not a CA certificate');
      return { certificates, leaf: certificates[0]!, trustAnchor: root };
    }
  }
  throw invalidInput(
    `certificate ${certificates.length - 1} of the chain (issuer "${oneLine(last.issuer)}") is not issued by any trusted root`,
  );
}

function assertIssuedBy(
  child: X509Certificate,
  issuer: X509Certificate,
  childName: string,
  issuerName: string,
) {
  if (!issuer.ca)
    throw invalidInput(`${issuerName} of the chain issues ${childName} but is not a CA certificate`);
  if (!child.checkIssued(issuer)) {
    throw invalidInput(
      `${childName} of the chain names issuer "${oneLine(child.issuer)}", which ${issuerName} ("${oneLine(issuer.subject)}") is not, or ${issuerName} may not sign certificates`,
    );
  }
  if (!signedBy(child, issuer)) {
    throw invalidInput(
      `the signature on ${childName} of the chain does not verify with the key of ${issuerName}`,
    );
  }
}

/** Whether `issuer`'s key verifies `child`'s signature; a key of another type is a no, not an exception. */
function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function assertValidAt(certificate: X509Certificate, at: Date, name: string): void {
  const { notBefore, notAfter } = validityOf(certificate);
  if (!(at >= notBefore)) throw invalidInput(`${name} is not valid before ${notBefore.toISOString()}`);
  if (!(at <= notAfter)) throw invalidInput(`${name} expired at ${notAfter.toISOString()}`);
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
