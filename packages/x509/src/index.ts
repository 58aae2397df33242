/**
 * PKCS#10 CSRs and X.509 certificates signed by backend-held keys.
 *
 * @packageDocumentation
 */

export type { CertificateSigner } from './certificate-signer.js';
export { type CreateCertificateOptions, createCertificate } from './create-certificate.js';
export { type CreateCsrOptions, createCsr } from './create-csr.js';
export type { DistinguishedName, NameAttribute, NameEntry } from './distinguished-name.js';
export type { CertificateInput } from './lib/certificate-input.js';
export type { ExtendedKeyUsageName, KeyUsageName } from './lib/extensions.js';
export { type CsrInfo, readCsr } from './read-csr.js';
export type { SubjectAltNames } from './subject-alt-names.js';
export {
  type ValidateCertificatePathOptions,
  type ValidatedCertificatePath,
  validateCertificatePath,
} from './validate-certificate-path.js';
