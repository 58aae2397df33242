import type { PublicJwk } from '@keyswitch/core';
import { invalidInput, utf8 } from '@keyswitch/core';
import type { EcdhKeyAgreement } from '../jwe/jwe-keys.js';
import { concatKdf } from '../kdf/concat-kdf.js';

/**
 * The EMV 3-D Secure session key from an ECDH shared secret: the Concat KDF of RFC 7518 §4.6.2 with SHA-256,
 * an empty AlgorithmID, an empty PartyUInfo, the SDK Reference Number (UTF-8) as PartyVInfo, and a 256-bit
 * output. A128CBC-HS256 uses all 32 bytes; A128GCM uses the first 16 from SDK to ACS and the last 16 from
 * ACS to SDK.
 *
 * @throws INVALID_INPUT for an empty shared secret or SDK reference number
 *
 * @example
 * ```ts
 * const sessionKey = deriveEmvSessionKey(sharedSecret, areq.sdkReferenceNumber); // 32 bytes
 * ```
 */
export function deriveEmvSessionKey(sharedSecret: Uint8Array, sdkReferenceNumber: string): Uint8Array {
  if (
    typeof sdkReferenceNumber !== 'string' ||
    sdkReferenceNumber.length === 0 ||
    sdkReferenceNumber.length > 256
  ) {
    throw invalidInput('the SDK reference number must be a non-empty string');
  }
  return concatKdf({
    sharedSecret,
    keyBits: 256,
    algorithmId: new Uint8Array(0),
    partyUInfo: new Uint8Array(0),
    partyVInfo: utf8(sdkReferenceNumber),
  });
}

/**
 * Agrees the EMV 3-D Secure session key with a peer's ephemeral public key: the key agreement (an
 * {@link EphemeralKeyPair}, or a backend `KeyAgreement` handle) gives the shared secret, which is zeroed
 * once {@link deriveEmvSessionKey} has used it.
 *
 * @throws INVALID_INPUT (a malformed peer key, an empty reference number) and the key agreement's codes
 *
 * @example
 * ```ts
 * const sessionKey = await agreeEmvSessionKey(acsEphemeral, areq.sdkEphemPubKey, areq.sdkReferenceNumber);
 * ```
 */
export async function agreeEmvSessionKey(
  keyAgreement: EcdhKeyAgreement,
  peerPublicKey: PublicJwk,
  sdkReferenceNumber: string,
): Promise<Uint8Array> {
  if (typeof (keyAgreement as Partial<EcdhKeyAgreement> | undefined)?.deriveSharedSecret !== 'function') {
    throw invalidInput(
      'agreeEmvSessionKey needs a key agreement (an ephemeral key pair or a KeyAgreement handle)',
    );
  }
  const sharedSecret = await keyAgreement.deriveSharedSecret(peerPublicKey);
  try {
    return deriveEmvSessionKey(sharedSecret, sdkReferenceNumber);
  } finally {
    sharedSecret.fill(0);
  }
}
