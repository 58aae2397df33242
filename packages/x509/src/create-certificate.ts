import { randomBytes } from 'node:crypto';
import {
  bytesEqual,
  derToPem,
  invalidInput,
  type PublicJwk,
  publicKeyFromSpki,
  requireObject,
  toSpki,
} from '@keyswitch/core';
import { BitString, fromBER, Integer, OctetString } from 'asn1js';
import {
  Certificate,
  type Extension,
  PublicKeyInfo,
  type RelativeDistinguishedNames,
  Time,
  TimeType,
} from 'pkijs';
import type { CertificateSigner } from './certificate-signer.js';
import { type DistinguishedName, nameEntries, toRelativeDistinguishedNames } from './distinguished-name.js';
import { type CertificateInput, toX509Certificate } from './lib/certificate-input.js';
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  type ExtendedKeyUsageName,
  extendedKeyUsageExtension,
  type KeyUsageName,
  keyIdentifierOf,
  keyUsageExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from './lib/extensions.js';
import { signTbs } from './lib/sign-tbs.js';
import { signatureAlgorithmIdentifier } from './lib/signature-algorithm.js';
import { checkedSigner } from './lib/signer-key.js';
import { readCsr } from './read-csr.js';
import { type SubjectAltNames, toGeneralNames } from './subject-alt-names.js';

/** How far back a default `notBefore` is set, to tolerate clocks that run a little behind. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Options for {@link createCertificate}.
 *
 * @example
 * ```ts
 * const options: CreateCertificateOptions = { signer: ks.signer('ds-ca'), issuerCertificate: dsRootPem, csr, validityDays: 825 };
 * ```
 */
export interface CreateCertificateOptions {
  /**
   * The key that signs the certificate, held by the backend: the CA's key, or for a self-signed certificate
   * the subject's own key.
   */
  readonly signer: CertificateSigner;
  /** The issuing CA's certificate. Absent: the certificate is self-signed (issuer = subject, key = signer's). */
  readonly issuerCertificate?: CertificateInput;
  /** The subject. Optional with `csr`, which then supplies it. */
  readonly subject?: DistinguishedName;
  /**
   * The subject's public key (SPKI DER, PEM, JWK, or a keyswitch `PublicKey`). Absent: the signer's key
   * (self-signed), or the CSR's.
   */
  readonly publicKey?: Uint8Array | string | PublicJwk | { readonly spki: Uint8Array };
  /**
   * A PKCS#10 CSR (PEM or DER) whose signature is verified and whose subject and key are used. Its requested
   * extensions are not copied: the issuer decides them here.
   */
  readonly csr?: string | Uint8Array;
  readonly sans?: SubjectAltNames;
  /** Key usages; by default `keyCertSign`, `cRLSign` and `digitalSignature` for a CA, `digitalSignature` otherwise. */
  readonly keyUsage?: readonly KeyUsageName[];
  readonly extendedKeyUsage?: readonly ExtendedKeyUsageName[];
  /** A CA certificate (basicConstraints cA true), optionally with a path length constraint. */
  readonly ca?: boolean | { readonly pathLength?: number };
  /** Start of validity: five minutes ago by default. Seconds precision. */
  readonly notBefore?: Date;
  /** End of validity; by default `validityDays` after `notBefore`. */
  readonly notAfter?: Date;
  /** Validity in days when `notAfter` is absent: 365 by default. */
  readonly validityDays?: number;
  /** The serial number; by default 16 random bytes, positive (about 126 bits of entropy). */
  readonly serialNumber?: bigint;
}

/**
 * Creates an X.509 v3 certificate signed by a backend-held key: self-signed (a root, or a test leaf), or
 * issued by a CA whose key is in the backend and whose certificate is given. It carries basicConstraints
 * (critical), keyUsage (critical), extendedKeyUsage and subjectAltName when asked, subjectKeyIdentifier,
 * and authorityKeyIdentifier (the issuer's key identifier). The signature algorithm follows the signer's:
 * RSA-PSS with explicit RSASSA-PSS-params, RSA PKCS#1 v1.5, or ECDSA.
 *
 * @returns the certificate as PEM (`-----BEGIN CERTIFICATE-----`)
 * @throws INVALID_INPUT (a malformed name, SAN or key; an issuer certificate that is not a CA or whose key
 * is not the signer's; a CSR whose signature does not verify; validity that ends before it starts) and the
 * backend's codes
 *
 * @example
 * ```ts
 * const dsRoot = await createCertificate({ signer: ks.signer('ds-ca'), subject: { CN: 'Example DS Root', O: 'Example Scheme' }, ca: true, validityDays: 3650 });
 * const acsCert = await createCertificate({
 *   signer: ks.signer('ds-ca'),
 *   issuerCertificate: dsRoot,
 *   csr: acsCsrPem,
 *   extendedKeyUsage: ['clientAuth'],
 * });
 * ```
 */
export async function createCertificate(options: CreateCertificateOptions): Promise<string> {
  requireObject(options, 'createCertificate options');
  const { facts, publicKey: signerKey } = await checkedSigner(options.signer, 'the certificate signer');
  const csr = options.csr === undefined ? undefined : readCsr(options.csr);
  const subject = options.subject ?? csr?.subject;
  if (subject === undefined) throw invalidInput('a certificate needs a subject (or a CSR to take it from)');
  if (nameEntries(subject, 'subject').length === 0) throw invalidInput('the subject is empty');
  if (options.publicKey !== undefined && csr !== undefined)
    throw invalidInput('give publicKey or csr, not both');

  let subjectSpki: Uint8Array;
  if (options.publicKey !== undefined) {
    subjectSpki =
      typeof options.publicKey === 'object' && 'spki' in options.publicKey
        ? publicKeyFromSpki(options.publicKey.spki).spki
        : toSpki(options.publicKey as Uint8Array | string | PublicJwk);
  } else {
    subjectSpki = csr?.publicKey.spki ?? signerKey.spki;
  }

  let issuerName: RelativeDistinguishedNames;
  let authorityKeyId: Uint8Array;
  const issuer = options.issuerCertificate;
  if (issuer === undefined) {
    if (!bytesEqual(subjectSpki, signerKey.spki)) {
      throw invalidInput(
        "a self-signed certificate certifies the signer's own key; give issuerCertificate to issue for another key",
      );
    }
    issuerName = toRelativeDistinguishedNames(subject, 'subject');
    authorityKeyId = keyIdentifierOf(subjectSpki);
  } else {
    const issuerCertificate = toX509Certificate(issuer, 'issuerCertificate');
    if (!issuerCertificate.ca)
      throw invalidInput('issuerCertificate is not a CA certificate (basicConstraints cA)');
    const issuerSpki = new Uint8Array(issuerCertificate.publicKey.export({ format: 'der', type: 'spki' }));
    if (!bytesEqual(issuerSpki, signerKey.spki)) {
      throw invalidInput("issuerCertificate does not certify the signer's key");
    }
    // The issuer name is copied as the CA certificate encodes its subject, byte for byte.
    const parsed = Certificate.fromBER(new Uint8Array(issuerCertificate.raw));
    issuerName = parsed.subject;
    authorityKeyId = subjectKeyIdentifierOf(parsed) ?? keyIdentifierOf(issuerSpki);
  }

  const notBefore = wholeSeconds(options.notBefore ?? new Date(Date.now() - BACKDATE_MS));
  const validityDays = options.validityDays ?? 365;
  if (
    options.notAfter === undefined &&
    (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 36_500)
  ) {
    throw invalidInput('validityDays must be an integer from 1 to 36,500');
  }
  const notAfter = wholeSeconds(options.notAfter ?? new Date(notBefore.getTime() + validityDays * DAY_MS));
  if (!(notAfter > notBefore)) throw invalidInput('notAfter must be later than notBefore');

  const ca = options.ca === true || (typeof options.ca === 'object' && options.ca !== null);
  const pathLength =
    typeof options.ca === 'object' && options.ca !== null ? options.ca.pathLength : undefined;
  const extensions: Extension[] = [
    basicConstraintsExtension(ca, pathLength),
    keyUsageExtension(
      options.keyUsage ?? (ca ? ['digitalSignature', 'keyCertSign', 'cRLSign'] : ['digitalSignature']),
    ),
  ];
  if (options.extendedKeyUsage !== undefined)
    extensions.push(extendedKeyUsageExtension(options.extendedKeyUsage));
  const sans = toGeneralNames(options.sans);
  if (sans !== undefined) extensions.push(subjectAltNameExtension(sans, false));
  extensions.push(subjectKeyIdentifierExtension(keyIdentifierOf(subjectSpki)));
  extensions.push(authorityKeyIdentifierExtension(authorityKeyId));

  const algorithm = signatureAlgorithmIdentifier(options.signer.algorithm);
  const certificate = new Certificate({
    version: 2,
    serialNumber: new Integer({ valueHex: serialBytes(options.serialNumber) }),
    signature: algorithm,
    issuer: issuerName,
    notBefore: time(notBefore),
    notAfter: time(notAfter),
    subject: toRelativeDistinguishedNames(subject, 'subject'),
    subjectPublicKeyInfo: PublicKeyInfo.fromBER(subjectSpki),
    extensions,
    signatureAlgorithm: signatureAlgorithmIdentifier(options.signer.algorithm),
  });
  const tbs = new Uint8Array(certificate.encodeTBS().toBER(false));
  const signature = await signTbs(options.signer, facts, tbs);
  certificate.tbsView = tbs;
  certificate.signatureValue = new BitString({ valueHex: signature });
  return derToPem(new Uint8Array(certificate.toSchema(false).toBER(false)), 'CERTIFICATE');
}

/** The key identifier in a certificate's subjectKeyIdentifier extension, if it has one. */
function subjectKeyIdentifierOf(certificate: Certificate): Uint8Array | undefined {
  const extension = certificate.extensions?.find((candidate) => candidate.extnID === '2.5.29.14');
  if (extension === undefined) return undefined;
  const decoded = fromBER(extension.extnValue.valueBlock.valueHexView);
  return decoded.result instanceof OctetString
    ? new Uint8Array(decoded.result.valueBlock.valueHexView)
    : undefined;
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(date: Date): Time {
  return new Time({
    type: date.getUTCFullYear() < 2050 ? TimeType.UTCTime : TimeType.GeneralizedTime,
    value: date,
  });
}

function wholeSeconds(date: Date): Date {
  if (!(date instanceof Date) || Number.isNaN(date.getTime()))
    throw invalidInput('validity dates must be valid Dates');
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function serialBytes(serial: bigint | undefined): Uint8Array {
  if (serial === undefined) {
    const bytes = new Uint8Array(randomBytes(16));
    bytes[0] = (bytes[0]! & 0x7f) | 0x40; // positive, and no leading zero byte to strip
    return bytes;
  }
  if (typeof serial !== 'bigint' || serial <= 0n || serial >= 1n << 159n) {
    throw invalidInput('serialNumber must be a positive bigint of at most 20 bytes');
  }
  let hex = serial.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
