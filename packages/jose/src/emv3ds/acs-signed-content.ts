import type { X509Certificate } from 'node:crypto';
import type { EcPublicJwk, PublicJwk } from '@keyswitch/core';
import { invalidInput, requireObject } from '@keyswitch/core';
import type { JwsSigner } from '../jws/jws-signer.js';
import { signJws } from '../jws/sign-jws.js';
import { type JwsHeader, verifyJws } from '../jws/verify-jws.js';
import type { CertificateInput } from '../lib/certificate-input.js';
import { parseJsonObject } from '../lib/json.js';
import { jwsAlgorithmFor } from '../lib/jws-algorithms.js';
import { p256PublicJwk, sameEcKey } from '../lib/p256-jwk.js';

/** The algorithms EMV 3-D Secure allows for the ACS signed content. */
const ACS_SIGNED_CONTENT_ALGORITHMS = ['PS256', 'ES256'] as const;

/**
 * The payload of the ACS signed content.
 *
 * @example
 * ```ts
 * const content: AcsSignedContent = { acsURL, acsEphemPubKey: acsEphemeral.publicJwk, sdkEphemPubKey: areq.sdkEphemPubKey };
 * ```
 */
export interface AcsSignedContent {
  /** Where the SDK sends its CReqs. */
  readonly acsURL: string;
  /** The ACS ephemeral public key (P-256, 32-byte coordinates). */
  readonly acsEphemPubKey: EcPublicJwk;
  /** The SDK ephemeral public key from the AReq, echoed back so that the SDK can check it was not swapped. */
  readonly sdkEphemPubKey: EcPublicJwk;
}

/**
 * Options for {@link createAcsSignedContent}.
 *
 * @example
 * ```ts
 * await createAcsSignedContent(content, signer, { certificateChain: [acsCertificatePem, intermediatePem] });
 * ```
 */
export interface CreateAcsSignedContentOptions {
  /** The `x5c` chain: the ACS signing certificate first, then any intermediates (the DS CA root is optional). */
  readonly certificateChain: readonly CertificateInput[];
}

/**
 * Creates the ACS signed content of an ARes: a compact JWS over `{ acsEphemPubKey, sdkEphemPubKey, acsURL }`
 * signed by the ACS signing key in the backend, with PS256 or ES256 and the certificate chain in `x5c`.
 *
 * @throws INVALID_INPUT (a signer that is not PS256 or ES256, a key that is not a valid P-256 JWK, an empty
 * `acsURL`, an `x5c` leaf that does not certify the signer's key) and the backend's codes
 *
 * @example
 * ```ts
 * const acsSignedContent = await createAcsSignedContent(
 *   { acsURL: 'https://acs.example.com/challenge', acsEphemPubKey: acsEphemeral.publicJwk, sdkEphemPubKey },
 *   ks.signer('acs-signing'),
 *   { certificateChain: [acsCertificatePem] },
 * );
 * ```
 */
export async function createAcsSignedContent(
  content: AcsSignedContent,
  signer: JwsSigner,
  options: CreateAcsSignedContentOptions,
): Promise<string> {
  const alg = jwsAlgorithmFor(signer?.algorithm)?.alg;
  if (alg !== 'PS256' && alg !== 'ES256') {
    throw invalidInput(
      `the ACS signed content is signed with PS256 or ES256; the signer uses ${String(signer?.algorithm)}`,
    );
  }
  if (typeof content?.acsURL !== 'string' || content.acsURL.length === 0) {
    throw invalidInput('acsURL must be a non-empty string');
  }
  const payload = {
    acsEphemPubKey: p256PublicJwk(content.acsEphemPubKey, 'acsEphemPubKey'),
    sdkEphemPubKey: p256PublicJwk(content.sdkEphemPubKey, 'sdkEphemPubKey'),
    acsURL: content.acsURL,
  };
  if (!Array.isArray(options?.certificateChain) || options.certificateChain.length === 0) {
    throw invalidInput('the ACS signed content needs the ACS certificate chain for x5c');
  }
  return signJws(payload, signer, { x5c: options.certificateChain });
}

/**
 * Options for {@link verifyAcsSignedContent}.
 *
 * @example
 * ```ts
 * await verifyAcsSignedContent(jws, { trustedRoots: [dsCaRootPem], sdkEphemPubKey: sdkEphemeral.publicJwk });
 * ```
 */
export interface VerifyAcsSignedContentOptions {
  /** The DS CA root certificate(s) of the card scheme. */
  readonly trustedRoots: readonly CertificateInput[];
  /** The SDK's own ephemeral public key: when given, the content must echo exactly this key. */
  readonly sdkEphemPubKey?: PublicJwk;
  /** When the certificates must be valid; now by default. */
  readonly currentDate?: Date;
}

/**
 * ACS signed content that verified.
 *
 * @example
 * ```ts
 * const { content, certificates } = await verifyAcsSignedContent(jws, { trustedRoots: [dsCaRootPem] });
 * certificates[0].subject; // the ACS signing certificate
 * ```
 */
export interface VerifiedAcsSignedContent {
  readonly content: AcsSignedContent;
  /** The `x5c` certificates, ACS signing certificate first. */
  readonly certificates: readonly X509Certificate[];
  readonly protectedHeader: JwsHeader;
}

/**
 * Verifies ACS signed content as the 3DS SDK does: PS256 or ES256 only, the `x5c` chain verified to the DS
 * CA root, the signature by the leaf certificate's key, and a payload holding an `acsURL` and two valid
 * P-256 keys, the SDK's being the one the SDK sent.
 *
 * @throws INVALID_SIGNATURE for a signature that does not verify; INVALID_INPUT naming what else failed
 * (algorithm, chain, payload, a swapped SDK key)
 *
 * @example
 * ```ts
 * const { content } = await verifyAcsSignedContent(ares.acsSignedContent, {
 *   trustedRoots: [dsCaRootPem],
 *   sdkEphemPubKey: sdkEphemeral.publicJwk,
 * });
 * ```
 */
export async function verifyAcsSignedContent(
  jws: string,
  options: VerifyAcsSignedContentOptions,
): Promise<VerifiedAcsSignedContent> {
  requireObject(options, 'verifyAcsSignedContent options');
  const verified = await verifyJws(jws, {
    trustedRoots: options.trustedRoots,
    algorithms: ACS_SIGNED_CONTENT_ALGORITHMS,
    ...(options.currentDate === undefined ? {} : { currentDate: options.currentDate }),
  });
  const payload = parseJsonObject(verified.payload, 'the ACS signed content payload');
  const acsURL = payload['acsURL'];
  if (typeof acsURL !== 'string' || acsURL.length === 0) {
    throw invalidInput('the ACS signed content has no acsURL');
  }
  const content: AcsSignedContent = {
    acsURL,
    acsEphemPubKey: p256PublicJwk(payload['acsEphemPubKey'], 'the signed acsEphemPubKey'),
    sdkEphemPubKey: p256PublicJwk(payload['sdkEphemPubKey'], 'the signed sdkEphemPubKey'),
  };
  if (
    options.sdkEphemPubKey !== undefined &&
    !sameEcKey(content.sdkEphemPubKey, p256PublicJwk(options.sdkEphemPubKey, 'sdkEphemPubKey'))
  ) {
    throw invalidInput("the ACS signed content does not hold this SDK's ephemeral public key");
  }
  return { content, certificates: verified.certificates!, protectedHeader: verified.protectedHeader };
}
