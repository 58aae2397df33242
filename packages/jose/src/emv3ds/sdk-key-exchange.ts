import type { X509Certificate } from 'node:crypto';
import type { EcPublicJwk } from '@keyswitch/core';
import { requireObject } from '@keyswitch/core';
import type { CertificateInput } from '../lib/certificate-input.js';
import { verifyAcsSignedContent } from './acs-signed-content.js';
import { agreeEmvSessionKey } from './emv-session-key.js';
import type { EphemeralKeyPair } from './ephemeral-key-pair.js';

/**
 * Options for {@link sdkKeyExchange}.
 *
 * @example
 * ```ts
 * const options: SdkKeyExchangeOptions = { acsSignedContent, trustedRoots: [dsCaRootPem], sdkEphemeralKeyPair, sdkReferenceNumber };
 * ```
 */
export interface SdkKeyExchangeOptions {
  /** The ARes `acsSignedContent`. */
  readonly acsSignedContent: string;
  /** The DS CA root certificate(s). */
  readonly trustedRoots: readonly CertificateInput[];
  /** The SDK's ephemeral key pair, whose public key went out in the AReq. */
  readonly sdkEphemeralKeyPair: EphemeralKeyPair;
  readonly sdkReferenceNumber: string;
  readonly currentDate?: Date;
}

/**
 * The SDK's half of the key exchange.
 *
 * @example
 * ```ts
 * const { sessionKey, acsURL } = await sdkKeyExchange(options);
 * ```
 */
export interface SdkKeyExchangeResult {
  readonly sessionKey: Uint8Array;
  readonly acsURL: string;
  readonly acsEphemPubKey: EcPublicJwk;
  /** The verified ACS certificate chain, signing certificate first. */
  readonly certificates: readonly X509Certificate[];
}

/**
 * What a 3DS SDK does with an ARes for an app-based challenge, for SDK-side tests and simulators: verifies
 * the ACS signed content to the DS CA root, checks it echoes the SDK's ephemeral key, and agrees the same
 * session key as the ACS.
 *
 * @throws INVALID_INPUT naming what failed
 *
 * @example
 * ```ts
 * const sdkEphemeral = await generateEphemeralKeyPair();
 * // … AReq carries sdkEphemeral.publicJwk; the ARes comes back …
 * const { sessionKey, acsURL } = await sdkKeyExchange({
 *   acsSignedContent: ares.acsSignedContent,
 *   trustedRoots: [dsCaRootPem],
 *   sdkEphemeralKeyPair: sdkEphemeral,
 *   sdkReferenceNumber: '3DS_LOA_SDK_EXAMPLE_020100_00001',
 * });
 * ```
 */
export async function sdkKeyExchange(options: SdkKeyExchangeOptions): Promise<SdkKeyExchangeResult> {
  requireObject(options, 'sdkKeyExchange options');
  requireObject(options.sdkEphemeralKeyPair, 'sdkKeyExchange sdkEphemeralKeyPair');
  const { content, certificates } = await verifyAcsSignedContent(options.acsSignedContent, {
    trustedRoots: options.trustedRoots,
    sdkEphemPubKey: options.sdkEphemeralKeyPair.publicJwk,
    ...(options.currentDate === undefined ? {} : { currentDate: options.currentDate }),
  });
  const sessionKey = await agreeEmvSessionKey(
    options.sdkEphemeralKeyPair,
    content.acsEphemPubKey,
    options.sdkReferenceNumber,
  );
  return { sessionKey, acsURL: content.acsURL, acsEphemPubKey: content.acsEphemPubKey, certificates };
}
