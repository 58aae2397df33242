import { X509Certificate } from 'node:crypto';
import { invalidInput } from '@keyswitch/core';

/** A certificate as PEM text, DER bytes or a node:crypto `X509Certificate`. */
export type CertificateInput = string | Uint8Array | X509Certificate;

/** Parses a certificate; INVALID_INPUT naming `what` when it is not one. */
export function toX509Certificate(input: CertificateInput, what: string): X509Certificate {
  if (input instanceof X509Certificate) return input;
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw invalidInput(`${what} must be PEM text, DER bytes or an X509Certificate`);
  }
  try {
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch (error) {
    throw invalidInput(`${what} is not an X.509 certificate`, error);
  }
}
