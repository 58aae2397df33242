import { constants, type KeyObject, verify, type X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import {
  base64Decode,
  base64UrlDecode,
  invalidInput,
  type PublicKey,
  publicKeyFromSpki,
  utf8,
} from '@keyswitch/core';
import type { CertificateInput } from '../lib/certificate-input.js';
import { decodeProtectedHeader, optionalString, requiredString, splitCompact } from '../lib/compact.js';
import { invalidSignature, unsupportedAlgorithm } from '../lib/errors.js';
import type { JsonObject } from '../lib/json.js';
import {
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  type JwsAlgorithmInfo,
  jwsAlgorithmInfo,
} from '../lib/jws-algorithms.js';
import { type PublicKeyInput, type ResolvedPublicKey, resolvePublicKey } from '../lib/public-key-input.js';
import { verifyCertificateChain } from '../x5c/verify-certificate-chain.js';

export type { JwsAlgorithm } from '../lib/jws-algorithms.js';
export type { PublicKeyInput } from '../lib/public-key-input.js';

const verifyAsync = promisify(verify);

/**
 * A JWS protected header as parsed.
 *
 * @example
 * ```ts
 * const { protectedHeader } = await verifyJws(jws, { key });
 * protectedHeader.alg; // 'PS256'
 * ```
 */
export interface JwsHeader extends JsonObject {
  readonly alg: JwsAlgorithm;
  readonly kid?: string;
  readonly x5c?: readonly string[];
  readonly typ?: string;
  readonly cty?: string;
}

/**
 * How to verify: with a known public key (`key`), or with the key of the `x5c` leaf certificate once its
 * chain verifies to one of `trustedRoots`. Exactly one of the two.
 *
 * @example
 * ```ts
 * await verifyJws(jws, { key: publicKeyPem, algorithms: ['PS256'] });
 * await verifyJws(jws, { trustedRoots: [rootPem], currentDate: new Date('2030-01-01') });
 * ```
 */
export interface VerifyJwsOptions {
  /** The public key: SPKI DER, PEM, JWK, a keyswitch `PublicKey` or a node:crypto `KeyObject`. */
  readonly key?: PublicKeyInput;
  /** Trust anchors for the `x5c` chain (a JWS without `x5c` is then refused). */
  readonly trustedRoots?: readonly CertificateInput[];
  /** When the `x5c` certificates must be valid; now by default. */
  readonly currentDate?: Date;
  /** The algorithms accepted; all that keyswitch supports by default. `none` is never accepted. */
  readonly algorithms?: readonly JwsAlgorithm[];
}

/**
 * A JWS whose signature verified.
 *
 * @example
 * ```ts
 * const { payload, publicKey } = await verifyJws(jws, { trustedRoots: [rootPem] });
 * publicKey.kid; // RFC 7638 thumbprint of the signing key
 * ```
 */
export interface VerifiedJws {
  /** The payload bytes (decode them yourself: `JSON.parse(new TextDecoder().decode(payload))`). */
  readonly payload: Uint8Array;
  readonly protectedHeader: JwsHeader;
  /** The key the signature verified with. */
  readonly publicKey: PublicKey;
  /** With `trustedRoots`: the verified `x5c` certificates, leaf first. */
  readonly certificates?: readonly X509Certificate[];
}

/**
 * Verifies a compact JWS (RFC 7515) locally, with node:crypto. Refuses `alg: none` and any algorithm not
 * allowed, a key that does not fit the algorithm (an EC key for PS256, a P-384 key for ES256, an RSA key
 * for ES256), `crit` headers and unencoded payloads; PSS signatures must use a salt as long as the hash.
 *
 * @throws INVALID_SIGNATURE for a signature that does not verify and for `alg: none`;
 * UNSUPPORTED_ALGORITHM for an algorithm keyswitch does not do or `algorithms` does not accept;
 * INVALID_INPUT for a malformed JWS, a key that does not fit the algorithm, an `x5c` chain that does not
 * verify, and options used wrongly (the message says which)
 *
 * @example
 * ```ts
 * const { payload } = await verifyJws(jws, { key: acsSigningPublicKeyPem });
 * const { payload: content, certificates } = await verifyJws(acsSignedContent, {
 *   trustedRoots: [dsCaRootPem],
 *   algorithms: ['PS256', 'ES256'],
 * });
 * ```
 */
export async function verifyJws(jws: string, options: VerifyJwsOptions): Promise<VerifiedJws> {
  if (typeof options !== 'object' || options === null)
    throw invalidInput('verifyJws needs options: { key } or { trustedRoots }');
  if ((options.key === undefined) === (options.trustedRoots === undefined)) {
    throw invalidInput('verifyJws needs exactly one of key and trustedRoots');
  }
  const [headerSegment, payloadSegment, signatureSegment] = splitCompact(jws, 3, 'JWS') as [
    string,
    string,
    string,
  ];
  const header = decodeProtectedHeader(headerSegment, 'JWS');
  const alg = requiredString(header, 'alg', 'JWS');
  if (alg.toLowerCase() === 'none') {
    throw invalidSignature('JWS alg "none" (an unsigned JWS) is never accepted');
  }
  const info = jwsAlgorithmInfo(alg);
  const allowed = options.algorithms ?? JWS_ALGORITHMS;
  if (info === undefined || !allowed.includes(info.alg)) {
    throw unsupportedAlgorithm(`JWS alg "${alg}" is not accepted; accepted: ${allowed.join(', ')}`);
  }
  if (header['b64'] !== undefined)
    throw invalidInput('JWS with unencoded payloads ("b64") are not supported');
  optionalString(header, 'kid', 'JWS');
  optionalString(header, 'typ', 'JWS');
  optionalString(header, 'cty', 'JWS');
  const payload = base64UrlDecode(payloadSegment, 'JWS payload');
  const signature = base64UrlDecode(signatureSegment, 'JWS signature');

  let key: ResolvedPublicKey;
  let certificates: readonly X509Certificate[] | undefined;
  if (options.key !== undefined) {
    key = resolvePublicKey(options.key, 'the verification key');
  } else {
    const x5c = header['x5c'];
    if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((entry) => typeof entry === 'string')) {
      throw invalidInput('JWS has no x5c certificate chain to verify against the trusted roots');
    }
    // x5c entries are base64 DER (RFC 7515 §4.1.6), never PEM.
    const der = (x5c as string[]).map((entry, index) => base64Decode(entry, `x5c certificate ${index}`));
    const chain = verifyCertificateChain(der, {
      trustedRoots: options.trustedRoots!,
      keyUsage: ['digitalSignature'],
      ...(options.currentDate === undefined ? {} : { currentDate: options.currentDate }),
    });
    certificates = chain.certificates;
    key = resolvePublicKey(chain.leaf.publicKey, 'the x5c leaf certificate key');
  }
  assertKeyFits(info, key);

  const signingInput = utf8(`${headerSegment}.${payloadSegment}`);
  const verified = await signatureVerifies(info, key.keyObject, signingInput, signature).catch(() => false);
  if (!verified) {
    throw invalidSignature('JWS signature does not verify');
  }
  return {
    payload,
    protectedHeader: header as JwsHeader,
    publicKey: publicKeyFromSpki(key.parsed.spki),
    ...(certificates === undefined ? {} : { certificates }),
  };
}

function assertKeyFits(info: JwsAlgorithmInfo, key: ResolvedPublicKey): void {
  const { parsed } = key;
  if (info.family === 'ECDSA') {
    if (parsed.family !== 'EC' || parsed.ec.curve !== info.curve) {
      const actual = parsed.family === 'EC' ? `an EC ${parsed.ec.curve} key` : 'an RSA key';
      throw invalidInput(`JWS alg ${info.alg} needs an EC ${info.curve} key, not ${actual}`);
    }
  } else if (parsed.family !== 'RSA') {
    throw invalidInput(`JWS alg ${info.alg} needs an RSA key, not an EC ${parsed.ec.curve} key`);
  }
}

async function signatureVerifies(
  info: JwsAlgorithmInfo,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (info.family === 'ECDSA') {
    if (signature.length !== 2 * info.coordinateBytes!) return false;
    return verifyAsync(info.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  }
  if (info.family === 'RSA_PSS') {
    return verifyAsync(
      info.hash,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.digestBytes },
      signature,
    );
  }
  return verifyAsync(info.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
}
