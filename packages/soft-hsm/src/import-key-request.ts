import type { KeySpec, KeyUsage } from '@keyswitch/core';

/**
 * A key to import into the software HSM, so that tests can reproduce a known key (a production key's
 * test twin, a published test vector). Give exactly one of `pem`, `pkcs8`, `pkcs12` and `raw`.
 *
 * For RSA and EC keys the spec is read from the key (modulus size, curve); `spec`, when given, must
 * match. For secret keys (`raw`) `spec` is required: `SYMMETRIC_DEFAULT` takes 32 bytes; `HMAC_256`
 * 32 to 64, `HMAC_384` 48 to 128 and `HMAC_512` 64 to 128 (the AWS KMS import rules).
 *
 * @example
 * ```ts
 * const request: ImportKeyRequest = {
 *   label: 'acs-signing',
 *   usage: 'SIGN_VERIFY',
 *   pem: readFileSync('test/fixtures/acs-signing.key.pem', 'utf8'),
 * };
 * ```
 */
export interface ImportKeyRequest {
  /** The key's name in the HSM; must be unused. */
  readonly label: string;
  readonly usage: KeyUsage;
  /** Required with `raw`; for asymmetric keys, a check on what the key turns out to be. */
  readonly spec?: KeySpec;
  /** A PEM private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY`; not encrypted. */
  readonly pem?: string;
  /** A DER PKCS#8 PrivateKeyInfo, unencrypted. */
  readonly pkcs8?: Uint8Array;
  /** A PKCS#12 (`.p12`, `.pfx`) file holding exactly one private key, and its password. */
  readonly pkcs12?: { readonly data: Uint8Array; readonly password: string };
  /** Secret key bytes for SYMMETRIC_DEFAULT and HMAC keys. */
  readonly raw?: Uint8Array;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}
