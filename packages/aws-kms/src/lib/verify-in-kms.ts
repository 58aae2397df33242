import type { KeyFacts, MacAlgorithm, SignInput } from '@keyswitch/core';
import { isKmsCause } from './is-kms-cause.js';
import type { KmsRequests } from './kms-requests.js';
import { rateClassFor } from './rate-class.js';

const KMS_MAX_SIGNATURE_BYTES = 6144;
const KMS_MAX_MAC_BYTES = 64;

/** Verify in KMS: a signature KMS calls invalid is `false`, not an error. */
export async function verifySignatureInKms(
  requests: KmsRequests,
  key: KeyFacts,
  input: SignInput & { readonly signature: Uint8Array },
  signal?: AbortSignal,
): Promise<boolean> {
  // KMS refuses a signature over 6,144 bytes as invalid input; no such signature can match.
  if (input.signature.byteLength > KMS_MAX_SIGNATURE_BYTES) return false;
  try {
    const { SignatureValid } = await requests.send(
      'Verify',
      rateClassFor(key.spec),
      (sdk, client) =>
        client.send(
          new sdk.VerifyCommand({
            KeyId: key.ref,
            Message: input.message,
            MessageType: input.messageType,
            Signature: input.signature,
            SigningAlgorithm: input.algorithm,
          }),
        ),
      { signal },
    );
    return SignatureValid === true;
  } catch (error) {
    if (isKmsCause(error, 'KMSInvalidSignatureException')) return false;
    throw error;
  }
}

/** VerifyMac in KMS: a MAC KMS calls invalid is `false`, not an error. */
export async function verifyMacInKms(
  requests: KmsRequests,
  key: KeyFacts,
  input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  signal?: AbortSignal,
): Promise<boolean> {
  // KMS refuses a MAC outside 1 to 64 bytes as invalid input; no such MAC can match, so it is false.
  if (input.mac.byteLength < 1 || input.mac.byteLength > KMS_MAX_MAC_BYTES) return false;
  try {
    const { MacValid } = await requests.send(
      'VerifyMac',
      'hmac',
      (sdk, client) =>
        client.send(
          new sdk.VerifyMacCommand({
            KeyId: key.ref,
            Message: input.message,
            MacAlgorithm: input.algorithm,
            Mac: input.mac,
          }),
        ),
      { signal },
    );
    return MacValid === true;
  } catch (error) {
    if (isKmsCause(error, 'KMSInvalidMacException')) return false;
    throw error;
  }
}
