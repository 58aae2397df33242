import type { X509Certificate } from 'node:crypto';
import { invalidInput } from '@keyswitch/core';
import type { BitString } from 'asn1js';
import {
  type AltName,
  type BasicConstraints,
  Certificate,
  type ExtKeyUsage,
  type GeneralName,
  type GeneralSubtree,
  type NameConstraints,
  type RelativeDistinguishedNames,
} from 'pkijs';

/** One attribute of a distinguished name, its value as text. */
export interface NameAttributeFact {
  readonly type: string;
  readonly value: string;
}

/** A name constraint subtree, its base as parsed. */
export interface SubtreeFact {
  readonly base: GeneralName;
  /** Whether minimum is not 0 or a maximum is given (RFC 5280 §4.2.1.10: MUST NOT be used). */
  readonly hasMinMax: boolean;
}

/** What path validation needs from one certificate, read from its DER once. */
export interface CertificateFacts {
  readonly certificate: X509Certificate;
  /** The subject's attributes in order (multi-valued RDNs flattened). */
  readonly subject: readonly NameAttributeFact[];
  /** Subject and issuer names are the same (RFC 5280 "self-issued"). */
  readonly selfIssued: boolean;
  /** basicConstraints, when present. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  /** keyUsage bits set, when the extension is present. */
  readonly keyUsage: ReadonlySet<number> | undefined;
  /** extendedKeyUsage OIDs, when present. */
  readonly extendedKeyUsage: readonly string[] | undefined;
  /** subjectAltName entries (empty when absent). */
  readonly subjectAltNames: readonly GeneralName[];
  /** nameConstraints, when present. */
  readonly nameConstraints:
    | { readonly permitted: readonly SubtreeFact[]; readonly excluded: readonly SubtreeFact[] }
    | undefined;
  /** OIDs of critical extensions this validator does not process. */
  readonly unknownCritical: readonly string[];
}

const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const EXTENDED_KEY_USAGE = '2.5.29.37';
const SUBJECT_ALT_NAME = '2.5.29.17';
const NAME_CONSTRAINTS = '2.5.29.30';
/**
 * Critical extensions understood without changing the outcome: identifiers, issuer names, distribution
 * points, and certificate policies (processed with any-policy acceptable and no explicit policy
 * required, as RFC 5280 §6.1 runs by default). policyConstraints, policyMappings and inhibitAnyPolicy
 * are not processed, so a critical one refuses the path.
 */
const UNDERSTOOD = new Set([
  BASIC_CONSTRAINTS,
  KEY_USAGE,
  EXTENDED_KEY_USAGE,
  SUBJECT_ALT_NAME,
  NAME_CONSTRAINTS,
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.18', // issuerAltName
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
]);

/**
 * Reads the facts of a certificate for path validation, with pkijs.
 *
 * @throws INVALID_INPUT naming `what` when the DER or an extension path validation reads is malformed
 */
export function certificateFacts(certificate: X509Certificate, what: string): CertificateFacts {
  let parsed: Certificate;
  try {
    parsed = Certificate.fromBER(new Uint8Array(certificate.raw));
  } catch (error) {
    throw invalidInput(`${what} is not a DER X.509 certificate`, error);
  }
  let basicConstraints: CertificateFacts['basicConstraints'];
  let keyUsage: Set<number> | undefined;
  let extendedKeyUsage: string[] | undefined;
  let subjectAltNames: GeneralName[] = [];
  let nameConstraints: CertificateFacts['nameConstraints'];
  const unknownCritical: string[] = [];
  const seen = new Set<string>();
  for (const extension of parsed.extensions ?? []) {
    if (seen.has(extension.extnID)) throw invalidInput(`${what} has the extension ${extension.extnID} twice`);
    seen.add(extension.extnID);
    if (extension.critical && !UNDERSTOOD.has(extension.extnID)) unknownCritical.push(extension.extnID);
    const value = extension.parsedValue as unknown;
    const malformed = () => invalidInput(`${what} has a malformed extension ${extension.extnID}`);
    switch (extension.extnID) {
      case BASIC_CONSTRAINTS: {
        if (value === undefined) throw malformed();
        const bc = value as BasicConstraints;
        const raw = bc.pathLenConstraint;
        const pathLength =
          raw === undefined ? undefined : typeof raw === 'number' ? raw : raw.valueBlock.valueDec;
        basicConstraints = { ca: bc.cA === true, pathLength };
        break;
      }
      case KEY_USAGE: {
        if (value === undefined) throw malformed();
        const bits = (value as BitString).valueBlock.valueHexView;
        keyUsage = new Set();
        for (let bit = 0; bit < bits.length * 8; bit += 1) {
          if ((bits[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) keyUsage.add(bit);
        }
        break;
      }
      case EXTENDED_KEY_USAGE:
        if (value === undefined) throw malformed();
        extendedKeyUsage = [...(value as ExtKeyUsage).keyPurposes];
        break;
      case SUBJECT_ALT_NAME:
        if (value === undefined) throw malformed();
        subjectAltNames = [...(value as AltName).altNames];
        break;
      case NAME_CONSTRAINTS: {
        if (value === undefined) throw malformed();
        const nc = value as NameConstraints;
        const subtrees = (list: GeneralSubtree[] | undefined) =>
          (list ?? []).map((subtree) => ({
            base: subtree.base,
            hasMinMax: integerOf(subtree.minimum) !== 0 || subtree.maximum !== undefined,
          }));
        nameConstraints = {
          permitted: subtrees(nc.permittedSubtrees),
          excluded: subtrees(nc.excludedSubtrees),
        };
        break;
      }
    }
  }
  return {
    certificate,
    subject: nameAttributes(parsed.subject),
    selfIssued: certificate.subject === certificate.issuer,
    basicConstraints,
    keyUsage,
    extendedKeyUsage,
    subjectAltNames,
    nameConstraints,
    unknownCritical,
  };
}

/** A distinguished name's attributes in order, their values as text. */
export function nameAttributes(name: RelativeDistinguishedNames): NameAttributeFact[] {
  return name.typesAndValues.map((attribute) => {
    const block = (attribute.value as { valueBlock?: { value?: unknown } }).valueBlock;
    return { type: attribute.type, value: typeof block?.value === 'string' ? block.value : '' };
  });
}

function integerOf(value: number | { valueBlock: { valueDec: number } } | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'number' ? value : value.valueBlock.valueDec;
}
