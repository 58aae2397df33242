import { constants, createPublicKey, verify } from 'node:crypto';
import { invalidInput, type PublicKey, pemToDer, publicKeyFromSpki } from '@keyswitch/core';
import { fromBER } from 'asn1js';
import { CertificationRequest, Extensions, GeneralNames } from 'pkijs';
import { fromRelativeDistinguishedNames, type NameEntry } from './distinguished-name.js';
import { readSignatureAlgorithm } from './lib/signature-algorithm.js';
import { fromGeneralNames } from './subject-alt-names.js';

/**
 * A CSR whose signature verified.
 *
 * @example
 * ```ts
 * const { subject, publicKey, sans } = readCsr(csrPem);
 * ```
 */
export interface CsrInfo {
  /** The subject, in encoding order (pass it straight to `createCertificate`). */
  readonly subject: readonly NameEntry[];
  /** The public key the CSR is for. */
  readonly publicKey: PublicKey;
  /** Requested SANs, OpenSSL style (`DNS:…`, `URI:…`, `IP:…`, `email:…`). */
  readonly sans: readonly string[];
}

/**
 * Reads a PKCS#10 CSR (PEM or DER) and verifies its signature with the key it carries (proof of
 * possession), with node:crypto. Supports the signatures keyswitch keys make: RSA-PSS, RSA PKCS#1 v1.5 and
 * ECDSA, with SHA-256, SHA-384 or SHA-512.
 *
 * @throws INVALID_INPUT when the CSR is malformed, uses another algorithm, or its signature does not verify
 *
 * @example
 * ```ts
 * const { subject, publicKey, sans } = readCsr(readFileSync('acs-signing.csr.pem', 'utf8'));
 * ```
 */
export function readCsr(csr: string | Uint8Array): CsrInfo {
  const der = typeof csr === 'string' ? pemToDer(csr, 'CERTIFICATE REQUEST') : csr;
  if (!(der instanceof Uint8Array)) throw invalidInput('a CSR must be PEM text or DER bytes');
  let request: CertificationRequest;
  try {
    request = CertificationRequest.fromBER(der);
  } catch (error) {
    throw invalidInput('the CSR is not a PKCS#10 certification request', error);
  }
  const publicKey = publicKeyFromSpki(new Uint8Array(request.subjectPublicKeyInfo.toSchema().toBER(false)));
  const facts = readSignatureAlgorithm(request.signatureAlgorithm);
  const key = createPublicKey({ key: Buffer.from(publicKey.spki), format: 'der', type: 'spki' });
  const signature = request.signatureValue.valueBlock.valueHexView;
  const verified =
    facts.family === 'ECDSA'
      ? verify(facts.hash, request.tbsView, key, signature)
      : verify(
          facts.hash,
          request.tbsView,
          facts.family === 'RSA_PSS'
            ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: facts.saltLength! }
            : { key, padding: constants.RSA_PKCS1_PADDING },
          signature,
        );
  if (!verified) throw invalidInput('the CSR signature does not verify with the key it carries');
  return {
    subject: fromRelativeDistinguishedNames(request.subject),
    publicKey,
    sans: requestedSans(request),
  };
}

function requestedSans(request: CertificationRequest): string[] {
  const attribute = request.attributes?.find((candidate) => candidate.type === '1.2.840.113549.1.9.14');
  const value = attribute?.values[0];
  if (value === undefined) return [];
  const extension = new Extensions({ schema: value }).extensions.find(
    (candidate) => candidate.extnID === '2.5.29.17',
  );
  if (extension === undefined) return [];
  const decoded = fromBER(extension.extnValue.valueBlock.valueHexView);
  return fromGeneralNames(new GeneralNames({ schema: decoded.result }));
}
