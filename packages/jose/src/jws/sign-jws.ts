import {
  base64Encode,
  base64UrlEncode,
  bytesEqual,
  ecdsaDerToP1363,
  invalidInput,
  jwkThumbprint,
  publicKeyFromSpki,
  utf8,
} from '@keyswitch/core';
import { type CertificateInput, toCertificate } from '../lib/certificate-input.js';
import { assertExtraHeader } from '../lib/compact.js';
import { payloadBytes } from '../lib/json.js';
import { jwsAlgorithmFor } from '../lib/jws-algorithms.js';
import type { JwsSigner } from './jws-signer.js';

/**
 * Options for {@link signJws}.
 *
 * @example
 * ```ts
 * await signJws(payload, signer, { kid: true, x5c: [certificatePem], typ: 'JOSE' });
 * ```
 */
export interface SignJwsOptions {
  /**
   * The `kid` header: a string, or `true` for the signer's key id (the RFC 7638 JWK thumbprint of its
   * public key, which needs `signer.publicKey`). Absent: no `kid`.
   */
  readonly kid?: string | true;
  /**
   * The `x5c` header: the signer's certificate first, then the intermediates that lead to the root (the
   * root itself is usually left out). PEM, DER, base64 DER or `X509Certificate`. When the signer can tell its
   * public key, the first certificate must certify that key.
   */
  readonly x5c?: readonly CertificateInput[];
  /** The `typ` header (`JOSE`, `JWT`…). */
  readonly typ?: string;
  /** The `cty` header. */
  readonly cty?: string;
  /** Further protected header members. `alg`, `kid`, `x5c`, `typ`, `cty`, `crit` and `b64` are refused here. */
  readonly header?: Readonly<Record<string, unknown>>;
}

/**
 * Signs a payload as a compact JWS (RFC 7515) with a backend-held key: the signer's configured algorithm
 * gives `alg` (PS256/384/512, RS256/384/512, ES256/384/512), the backend signs the signing input, and ECDSA
 * signatures are encoded as JOSE requires (`r || s`). A string payload is signed as its UTF-8 bytes; an
 * object as its JSON.
 *
 * @throws INVALID_INPUT (an algorithm JWS does not use, an `x5c` leaf that does not match the key, a
 * malformed header), and whatever the backend throws: KEY_DISABLED, KEY_NOT_FOUND, UNAVAILABLE, THROTTLED
 *
 * @example
 * ```ts
 * const acs = ks.signer('acs-signing');
 * const jws = await signJws({ acsURL, acsEphemPubKey, sdkEphemPubKey }, acs, {
 *   x5c: [acsCertificatePem, intermediatePem],
 * });
 * ```
 */
export async function signJws(
  payload: Uint8Array | string | object,
  signer: JwsSigner,
  options: SignJwsOptions = {},
): Promise<string> {
  if (typeof signer !== 'object' || signer === null || typeof signer.sign !== 'function') {
    throw invalidInput('signJws needs a signer with a sign() method');
  }
  const info = jwsAlgorithmFor(signer.algorithm);
  if (info === undefined) {
    throw invalidInput(`${String(signer.algorithm)} is not a JWS signing algorithm`);
  }
  assertExtraHeader(options.header, ['alg', 'kid', 'x5c', 'typ', 'cty', 'crit', 'b64'], 'JWS');
  const body = payloadBytes(payload, 'JWS payload');

  const needsKey = options.kid === true || options.x5c !== undefined;
  const publicKey = needsKey && typeof signer.publicKey === 'function' ? await signer.publicKey() : undefined;
  const header: Record<string, unknown> = { alg: info.alg };
  if (options.kid === true) {
    if (publicKey === undefined) throw invalidInput('kid: true needs a signer that can tell its public key');
    header['kid'] = publicKey.kid ?? jwkThumbprint(publicKeyFromSpki(publicKey.spki).jwk());
  } else if (options.kid !== undefined) {
    if (typeof options.kid !== 'string' || options.kid.length === 0)
      throw invalidInput('kid must be a non-empty string');
    header['kid'] = options.kid;
  }
  if (options.x5c !== undefined) header['x5c'] = x5cHeader(options.x5c, publicKey?.spki);
  if (options.typ !== undefined) header['typ'] = options.typ;
  if (options.cty !== undefined) header['cty'] = options.cty;
  Object.assign(header, options.header);

  const signingInput = `${base64UrlEncode(utf8(JSON.stringify(header)))}.${base64UrlEncode(body)}`;
  const message = utf8(signingInput);
  // Any length: the provider contract hashes a message its backend cannot take whole (KMS: over 4,096 bytes).
  let signature = await signer.sign(message, { format: 'P1363' });
  if (info.family === 'ECDSA' && signature.length !== 2 * info.coordinateBytes!) {
    // A signer that ignored the format option answered in DER.
    signature = ecdsaDerToP1363(signature, info.coordinateBytes!);
  }
  return `${signingInput}.${base64UrlEncode(signature)}`;
}

function x5cHeader(chain: readonly CertificateInput[], signerSpki: Uint8Array | undefined): string[] {
  if (!Array.isArray(chain) || chain.length === 0)
    throw invalidInput('x5c must be a non-empty array of certificates');
  const certificates = chain.map((entry, index) => toCertificate(entry, `x5c certificate ${index}`));
  if (signerSpki !== undefined) {
    const leafSpki = new Uint8Array(certificates[0]!.publicKey.export({ format: 'der', type: 'spki' }));
    if (!bytesEqual(leafSpki, signerSpki)) {
      throw invalidInput("the first x5c certificate does not certify the signer's public key");
    }
  }
  return certificates.map((certificate) => base64Encode(new Uint8Array(certificate.raw)));
}
