import { X509Certificate } from 'node:crypto';
import { base64Decode, base64Encode, invalidInput } from '@keyswitch/core';

/**
 * A certificate in any usual form: a node:crypto `X509Certificate`, DER bytes, PEM text, or the base64 DER
 * of an `x5c` entry.
 */
export type CertificateInput = X509Certificate | Uint8Array | string;

/** Parses a certificate; INVALID_INPUT naming `what` when it is not one. */
export function toCertificate(input: CertificateInput, what: string): X509Certificate {
  if (input instanceof X509Certificate) return input;
  let der: Uint8Array | string;
  if (input instanceof Uint8Array) der = input;
  else if (typeof input === 'string' && input.trim().startsWith('-----BEGIN')) der = input;
  else if (typeof input === 'string') der = base64Decode(input.trim(), what);
  else throw invalidInput(`${what} must be an X509Certificate, DER bytes, PEM text or base64 DER`);
  try {
    return new X509Certificate(typeof der === 'string' ? der : Buffer.from(der));
  } catch (error) {
    throw invalidInput(`${what} is not an X.509 certificate`, error);
  }
}

/** The `x5c` form of a certificate: standard base64 of its DER (RFC 7515 §4.1.6). */
export function toX5cEntry(input: CertificateInput, what: string): string {
  return base64Encode(new Uint8Array(toCertificate(input, what).raw));
}

/** When a certificate's validity starts and ends. */
export function validityOf(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  const dated = certificate as X509Certificate & { validFromDate?: Date; validToDate?: Date };
  return {
    notBefore: dated.validFromDate ?? new Date(certificate.validFrom),
    notAfter: dated.validToDate ?? new Date(certificate.validTo),
  };
}
