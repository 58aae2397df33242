import type { EcPublicJwk, PublicJwk } from '@keyswitch/core';
import { requireObject } from '@keyswitch/core';
import type { JwsSigner } from '../jws/jws-signer.js';
import type { CertificateInput } from '../lib/certificate-input.js';
import { p256PublicJwk } from '../lib/p256-jwk.js';
import { createAcsSignedContent } from './acs-signed-content.js';
import { agreeEmvSessionKey } from './emv-session-key.js';
import { type EphemeralKeyPair, generateEphemeralKeyPair } from './ephemeral-key-pair.js';

/**
 * Options for {@link acsKeyExchange}.
 *
 * @example
 * ```ts
 * const options: AcsKeyExchangeOptions = { signer: ks.signer('acs-signing'), certificateChain: [acsCertificatePem], sdkEphemPubKey: areq.sdkEphemPubKey, sdkReferenceNumber: areq.sdkReferenceNumber, acsURL };
 * ```
 */
export interface AcsKeyExchangeOptions {
  /** The ACS signing key (PS256 or ES256), held by the backend: `ks.signer('acs-signing')`. */
  readonly signer: JwsSigner;
  /** The ACS signing certificate first, then any intermediates, for `x5c`. */
  readonly certificateChain: readonly CertificateInput[];
  /** The AReq's `sdkEphemPubKey` (a JWK object or its JSON text). */
  readonly sdkEphemPubKey: PublicJwk | string;
  /** The AReq's `sdkReferenceNumber`. */
  readonly sdkReferenceNumber: string;
  /** Where the SDK is to send CReqs. */
  readonly acsURL: string;
  /** The ACS ephemeral key pair; a fresh one by default (pass one only to reproduce a test vector). */
  readonly ephemeralKeyPair?: EphemeralKeyPair;
}

/**
 * The ACS's half of the app-based key exchange.
 *
 * @example
 * ```ts
 * const { acsSignedContent, sessionKey } = await acsKeyExchange(options);
 * ares.acsSignedContent = acsSignedContent;
 * ```
 */
export interface AcsKeyExchangeResult {
  /** For the ARes `acsSignedContent`. */
  readonly acsSignedContent: string;
  /** The 32-byte session key for the CReq/CRes exchange. Store it protected; zero it when done. */
  readonly sessionKey: Uint8Array;
  readonly acsEphemPubKey: EcPublicJwk;
}

/**
 * Everything the ACS does with keys when it answers an app-based AReq: checks the SDK ephemeral key,
 * generates its own ephemeral P-256 pair, agrees the session key (ECDH, then the EMV Concat KDF with the
 * SDK reference number), and signs the ACS signed content with the backend-held signing key. The ephemeral
 * private key is dropped when the function returns.
 *
 * @throws INVALID_INPUT (an invalid SDK key or reference number, a signer that is not PS256/ES256, a
 * certificate that does not match the signer) and the backend's codes
 *
 * @example
 * ```ts
 * const { acsSignedContent, sessionKey } = await acsKeyExchange({
 *   signer: ks.signer('acs-signing'),
 *   certificateChain: [acsCertificatePem],
 *   sdkEphemPubKey: areq.sdkEphemPubKey,
 *   sdkReferenceNumber: areq.sdkReferenceNumber,
 *   acsURL: 'https://acs.example.com/challenge',
 * });
 * ```
 */
export async function acsKeyExchange(options: AcsKeyExchangeOptions): Promise<AcsKeyExchangeResult> {
  requireObject(options, 'acsKeyExchange options');
  const sdkEphemPubKey = p256PublicJwk(options.sdkEphemPubKey, 'sdkEphemPubKey');
  const ephemeral = options.ephemeralKeyPair ?? (await generateEphemeralKeyPair());
  const sessionKey = await agreeEmvSessionKey(ephemeral, sdkEphemPubKey, options.sdkReferenceNumber);
  try {
    const acsSignedContent = await createAcsSignedContent(
      { acsURL: options.acsURL, acsEphemPubKey: ephemeral.publicJwk, sdkEphemPubKey },
      options.signer,
      { certificateChain: options.certificateChain },
    );
    return { acsSignedContent, sessionKey, acsEphemPubKey: ephemeral.publicJwk };
  } catch (error) {
    sessionKey.fill(0);
    throw error;
  }
}
