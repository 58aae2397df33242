import { derToPem, requireObject } from '@keyswitch/core';
import { BitString } from 'asn1js';
import { Attribute, CertificationRequest, type Extension, Extensions, PublicKeyInfo } from 'pkijs';
import type { CertificateSigner } from './certificate-signer.js';
import { type DistinguishedName, nameEntries, toRelativeDistinguishedNames } from './distinguished-name.js';
import {
  basicConstraintsExtension,
  type ExtendedKeyUsageName,
  extendedKeyUsageExtension,
  type KeyUsageName,
  keyUsageExtension,
  subjectAltNameExtension,
} from './lib/extensions.js';
import { signTbs } from './lib/sign-tbs.js';
import { signatureAlgorithmIdentifier } from './lib/signature-algorithm.js';
import { checkedSigner } from './lib/signer-key.js';
import { type SubjectAltNames, toGeneralNames } from './subject-alt-names.js';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/**
 * Options for {@link createCsr}.
 *
 * @example
 * ```ts
 * const options: CreateCsrOptions = { signer: ks.signer('acs-signing'), subject: { CN: 'acs.example-bank.com', O: 'Example Bank', C: 'US' } };
 * ```
 */
export interface CreateCsrOptions {
  /** The key the CSR is for, which also signs it (proof of possession): `ks.signer('acs-signing')`. */
  readonly signer: CertificateSigner;
  readonly subject: DistinguishedName;
  /** Requested subject alternative names. */
  readonly sans?: SubjectAltNames;
  /** Requested key usages. */
  readonly keyUsage?: readonly KeyUsageName[];
  /** Requested extended key usages (`serverAuth`, `clientAuth`…). */
  readonly extendedKeyUsage?: readonly ExtendedKeyUsageName[];
  /** Request a CA certificate (basicConstraints cA). */
  readonly ca?: boolean;
}

/**
 * Creates a PKCS#10 certificate signing request (RFC 2986) for a backend-held key, signed by that key:
 * the subject, the key's SubjectPublicKeyInfo, and any requested extensions (SANs, key usage, extended key
 * usage, basic constraints) in an extensionRequest attribute. RSA-PSS keys sign with explicit
 * RSASSA-PSS-params (hash, MGF1 with the same hash, salt = digest length).
 *
 * @returns the CSR as PEM (`-----BEGIN CERTIFICATE REQUEST-----`)
 * @throws INVALID_INPUT (a malformed subject or SAN, an unknown usage, a signer that is not a signing key),
 * and the backend's codes (KEY_DISABLED, KEY_NOT_FOUND, UNAVAILABLE…)
 *
 * @example
 * ```ts
 * const pem = await createCsr({
 *   signer: ks.signer('acs-signing'),
 *   subject: 'CN=acs.example-bank.com,O=Example Bank,C=US',
 *   sans: ['DNS:acs.example-bank.com'],
 *   extendedKeyUsage: ['clientAuth'],
 * });
 * writeFileSync('acs-signing.csr.pem', pem);
 * ```
 */
export async function createCsr(options: CreateCsrOptions): Promise<string> {
  requireObject(options, 'createCsr options');
  const { facts, publicKey } = await checkedSigner(options.signer, 'the CSR signer');
  nameEntries(options.subject, 'subject');
  const extensions: Extension[] = [];
  if (options.ca !== undefined) extensions.push(basicConstraintsExtension(options.ca === true));
  if (options.keyUsage !== undefined) extensions.push(keyUsageExtension(options.keyUsage));
  if (options.extendedKeyUsage !== undefined)
    extensions.push(extendedKeyUsageExtension(options.extendedKeyUsage));
  const sans = toGeneralNames(options.sans);
  if (sans !== undefined) extensions.push(subjectAltNameExtension(sans, false));

  const algorithm = signatureAlgorithmIdentifier(options.signer.algorithm);
  const csr = new CertificationRequest({
    version: 0,
    subject: toRelativeDistinguishedNames(options.subject, 'subject'),
    subjectPublicKeyInfo: PublicKeyInfo.fromBER(publicKey.spki),
    attributes:
      extensions.length === 0
        ? []
        : [new Attribute({ type: EXTENSION_REQUEST, values: [new Extensions({ extensions }).toSchema()] })],
    signatureAlgorithm: algorithm,
  });
  const tbs = new Uint8Array(csr.toSchema(true).valueBlock.value[0]!.toBER(false));
  const signature = await signTbs(options.signer, facts, tbs);
  csr.tbsView = tbs;
  csr.signatureValue = new BitString({ valueHex: signature });
  return derToPem(new Uint8Array(csr.toSchema(false).toBER(false)), 'CERTIFICATE REQUEST');
}
