import type { X509Certificate } from 'node:crypto';
import { invalidInput, requireObject } from '@keyswitch/core';
import { type CertificateFacts, certificateFacts } from './lib/certificate-facts.js';
import { type CertificateInput, toX509Certificate } from './lib/certificate-input.js';
import {
  type ExtendedKeyUsageName,
  extendedKeyUsageOid,
  type KeyUsageName,
  keyUsageBit,
} from './lib/extensions.js';
import { checkNameConstraints } from './lib/name-constraints.js';

/**
 * Options for {@link validateCertificatePath}.
 *
 * @example
 * ```ts
 * validateCertificatePath(chain, { trustAnchors: [dsRoot], keyUsage: ['digitalSignature'] });
 * ```
 */
export interface ValidateCertificatePathOptions {
  /** The trusted roots (at least one). Their own basic and name constraints apply, as OpenSSL applies them. */
  readonly trustAnchors: readonly CertificateInput[];
  /** The time at which every certificate, the root's included, must be valid; now by default. */
  readonly at?: Date;
  /** Key usages the end entity must allow when it has a keyUsage extension (e.g. `digitalSignature`). */
  readonly keyUsage?: readonly KeyUsageName[];
  /**
   * A purpose every certificate below the root that has an extendedKeyUsage extension must list (by name
   * or OID; `anyExtendedKeyUsage` does not stand in for it), as OpenSSL's `-purpose` checks it.
   */
  readonly extendedKeyUsage?: ExtendedKeyUsageName;
  /** Most certificates accepted below the root (end entity and intermediates); 5 by default. */
  readonly maxLength?: number;
}

/**
 * A path that validated: the certificates as given (end entity first), and the trust anchor it ends at.
 *
 * @example
 * ```ts
 * const { endEntity, trustAnchor } = validateCertificatePath(chain, { trustAnchors: [root] });
 * ```
 */
export interface ValidatedCertificatePath {
  readonly certificates: readonly X509Certificate[];
  readonly endEntity: X509Certificate;
  readonly trustAnchor: X509Certificate;
}

const KEY_CERT_SIGN = 5;

/**
 * RFC 5280 §6.1 path validation of a chain given end entity first (as `x5c` has it), up to one of the
 * trust anchors. The chain may end with a trust anchor itself or with a certificate one issued. Checked,
 * for every certificate, the root's included: validity at `at`; issuer name, key identifiers and
 * signature against the next certificate; that every issuer is a CA (basicConstraints cA) whose
 * keyUsage, when present, allows keyCertSign; path length constraints (the root's too); name constraints
 * of every CA above (directory, RFC 822, DNS, URI, IP; an end entity's host-name common name when it has
 * no DNS subjectAltName); no critical extension this validator does not process; the end entity's key
 * usage and every certificate's extended key usage against what the caller requires. Not checked:
 * revocation (CRL, OCSP) and certificate policies beyond accepting any policy. Cross-checked against
 * `openssl verify -x509_strict -purpose sslserver` on a corpus of good and bad chains.
 *
 * @throws INVALID_INPUT naming the certificate (by its position in the chain, or the root) and the rule
 * it breaks
 *
 * @example
 * ```ts
 * const { endEntity } = validateCertificatePath(x5c.map((entry) => Buffer.from(entry, 'base64')), {
 *   trustAnchors: [dsCaRootPem],
 *   keyUsage: ['digitalSignature'],
 * });
 * ```
 */
export function validateCertificatePath(
  chain: readonly CertificateInput[],
  options: ValidateCertificatePathOptions,
): ValidatedCertificatePath {
  const maxLength = requireObject(options, 'validateCertificatePath options').maxLength ?? 5;
  if (!Array.isArray(chain) || chain.length === 0) {
    throw invalidInput('the certificate chain must be a non-empty array');
  }
  if (chain.length > maxLength + 1) {
    throw invalidInput(
      `the certificate chain has ${chain.length} certificates; at most ${maxLength} are accepted`,
    );
  }
  const anchors = (options.trustAnchors ?? []).map((root, index) =>
    toX509Certificate(root, `trusted root ${index}`),
  );
  if (anchors.length === 0)
    throw invalidInput('at least one trusted root is needed to validate a certificate path');
  const at = options.at ?? new Date();
  const requiredBits = (options.keyUsage ?? []).map((usage) => {
    const bit = keyUsageBit(usage);
    if (bit === undefined) throw invalidInput(`unknown key usage "${String(usage)}"`);
    return { usage, bit };
  });
  const requiredPurpose =
    options.extendedKeyUsage === undefined ? undefined : extendedKeyUsageOid(options.extendedKeyUsage);
  if (options.extendedKeyUsage !== undefined && requiredPurpose === undefined) {
    throw invalidInput(`unknown extended key usage "${String(options.extendedKeyUsage)}"`);
  }

  const given = chain.map((entry, index) => toX509Certificate(entry, `certificate ${index} of the chain`));
  const last = given.at(-1)!;
  let anchor = anchors.find((root) => root.fingerprint256 === last.fingerprint256);
  const below = anchor === undefined ? given : given.slice(0, -1);
  if (anchor === undefined) {
    const top = below.at(-1)!;
    anchor = anchors.find((root) => top.checkIssued(root) && signedBy(top, root));
    if (anchor === undefined) {
      throw invalidInput(
        `certificate ${given.length - 1} of the chain (issuer "${oneLine(top.issuer)}") is not issued by any trusted root`,
      );
    }
  }
  if (below.length > maxLength) {
    throw invalidInput(
      `the path has ${below.length} certificates below the root; at most ${maxLength} are accepted`,
    );
  }

  // The path from the trust anchor down: RFC 5280's certificates 1..n, preceded by the anchor.
  const rootFacts = certificateFacts(anchor, 'the trusted root');
  const path = [...below].reverse().map((certificate) => {
    const index = given.indexOf(certificate);
    return {
      facts: certificateFacts(certificate, `certificate ${index} of the chain`),
      name: `certificate ${index} of the chain`,
    };
  });
  checkCommon(rootFacts, 'the trusted root', at);
  checkIssuer(rootFacts, 'the trusted root');
  let maxPathLength = rootFacts.basicConstraints?.pathLength ?? Number.POSITIVE_INFINITY;
  const constraints: { facts: CertificateFacts; name: string }[] = [];
  if (rootFacts.nameConstraints) constraints.push({ facts: rootFacts, name: 'the trusted root' });

  let issuer = { facts: rootFacts, name: 'the trusted root' };
  for (const [position, { facts, name }] of path.entries()) {
    const endEntity = position === path.length - 1;
    const certificate = facts.certificate;
    checkCommon(facts, name, at);
    if (!certificate.checkIssued(issuer.facts.certificate)) {
      throw invalidInput(
        `${name} names issuer "${oneLine(certificate.issuer)}", which ${issuer.name} ("${oneLine(issuer.facts.certificate.subject)}") is not (by name or key identifier)`,
      );
    }
    if (!signedBy(certificate, issuer.facts.certificate)) {
      throw invalidInput(`the signature on ${name} does not verify with the key of ${issuer.name}`);
    }
    if (endEntity || !facts.selfIssued) {
      for (const constraint of constraints) {
        checkNameConstraints(facts, constraint.facts.nameConstraints!, endEntity, name, constraint.name);
      }
    }
    if (
      requiredPurpose !== undefined &&
      facts.extendedKeyUsage !== undefined &&
      !facts.extendedKeyUsage.includes(requiredPurpose)
    ) {
      throw invalidInput(
        `${name} has an extendedKeyUsage without ${options.extendedKeyUsage} (${requiredPurpose})`,
      );
    }
    if (endEntity) {
      for (const { usage, bit } of requiredBits) {
        if (facts.keyUsage !== undefined && !facts.keyUsage.has(bit)) {
          throw invalidInput(`${name} has a keyUsage without ${usage}`);
        }
      }
      if (facts.keyUsage?.has(KEY_CERT_SIGN) && facts.basicConstraints?.ca !== true) {
        throw invalidInput(`${name} allows keyCertSign but is not a CA certificate`);
      }
      break;
    }
    checkIssuer(facts, name);
    if (!facts.selfIssued) {
      if (maxPathLength <= 0) {
        throw invalidInput(
          `${name} is a CA below the path length ${issuer.name}'s constraints allow (pathLenConstraint)`,
        );
      }
      maxPathLength -= 1;
    }
    const pathLength = facts.basicConstraints?.pathLength;
    if (pathLength !== undefined && pathLength < maxPathLength) maxPathLength = pathLength;
    if (facts.nameConstraints) constraints.push({ facts, name });
    issuer = { facts, name };
  }
  return { certificates: given, endEntity: given[0]!, trustAnchor: anchor };
}

/** Validity and critical extensions: what every certificate on the path must meet. */
function checkCommon(facts: CertificateFacts, name: string, at: Date): void {
  const certificate = facts.certificate;
  const dated = certificate as X509Certificate & { validFromDate?: Date; validToDate?: Date };
  const notBefore = dated.validFromDate ?? new Date(certificate.validFrom);
  const notAfter = dated.validToDate ?? new Date(certificate.validTo);
  if (!(at >= notBefore)) throw invalidInput(`${name} is not valid before ${notBefore.toISOString()}`);
  if (!(at <= notAfter)) throw invalidInput(`${name} expired at ${notAfter.toISOString()}`);
  if (facts.unknownCritical.length > 0) {
    throw invalidInput(
      `${name} has a critical extension this validator does not process: ${facts.unknownCritical.join(', ')}`,
    );
  }
}

/** What a certificate that issues another must be: a CA allowed to sign certificates. */
function checkIssuer(facts: CertificateFacts, name: string): void {
  if (facts.basicConstraints?.ca !== true) {
    throw invalidInput(`${name} issues a certificate but is not a CA certificate (basicConstraints cA)`);
  }
  if (facts.keyUsage !== undefined && !facts.keyUsage.has(KEY_CERT_SIGN)) {
    throw invalidInput(`${name} issues a certificate but its keyUsage does not allow keyCertSign`);
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

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
