import { type EncryptionAlgorithm, type EncryptionContext, KeyswitchError } from '@keyswitch/core';
import type { KmsRequests } from '../lib/kms-requests.js';
import { rateClassForAlgorithm } from '../lib/rate-class.js';

/**
 * A ReEncrypt request: decrypt with the source key and encrypt with the destination key, inside KMS.
 *
 * @example
 * ```ts
 * const request: ReEncryptRequest = { ciphertext, destinationRef: 'alias/pan-kek-2025', sourceContext: ctx, destinationContext: ctx };
 * ```
 */
export interface ReEncryptRequest {
  readonly ciphertext: Uint8Array;
  /** The key to encrypt under. */
  readonly destinationRef: string;
  /** Required for asymmetric source ciphertext; optional for symmetric (the blob names its key). */
  readonly sourceRef?: string;
  readonly sourceAlgorithm?: EncryptionAlgorithm;
  readonly destinationAlgorithm?: EncryptionAlgorithm;
  readonly sourceContext?: EncryptionContext;
  readonly destinationContext?: EncryptionContext;
}

/**
 * The result of `AwsKmsProvider.reEncrypt`.
 *
 * @example
 * ```ts
 * const { ciphertext, destinationKeyArn } = await kms.reEncrypt(request);
 * ```
 */
export interface ReEncryptResult {
  readonly ciphertext: Uint8Array;
  /** The ARN of the key that decrypted. */
  readonly sourceKeyArn: string;
  /** The ARN of the key that encrypted. */
  readonly destinationKeyArn: string;
}

/** Sends one ReEncrypt request: the plaintext never leaves KMS. */
export async function reEncryptInKms(
  requests: KmsRequests,
  request: ReEncryptRequest,
): Promise<ReEncryptResult> {
  if (!(request.ciphertext instanceof Uint8Array) || request.ciphertext.byteLength === 0) {
    throw new KeyswitchError('INVALID_INPUT', 'ciphertext must be a non-empty Uint8Array');
  }
  const sourceAlgorithm = request.sourceAlgorithm ?? 'SYMMETRIC_DEFAULT';
  const destinationAlgorithm = request.destinationAlgorithm ?? 'SYMMETRIC_DEFAULT';
  const result = await requests.send(
    'ReEncrypt',
    rateClassForAlgorithm(destinationAlgorithm),
    (sdk, client) =>
      client.send(
        new sdk.ReEncryptCommand({
          CiphertextBlob: request.ciphertext,
          DestinationKeyId: request.destinationRef,
          ...(request.sourceRef === undefined ? {} : { SourceKeyId: request.sourceRef }),
          SourceEncryptionAlgorithm: sourceAlgorithm,
          DestinationEncryptionAlgorithm: destinationAlgorithm,
          ...(request.sourceContext === undefined
            ? {}
            : { SourceEncryptionContext: { ...request.sourceContext } }),
          ...(request.destinationContext === undefined
            ? {}
            : { DestinationEncryptionContext: { ...request.destinationContext } }),
        }),
      ),
  );
  return {
    ciphertext: result.CiphertextBlob!,
    sourceKeyArn: result.SourceKeyId!,
    destinationKeyArn: result.KeyId!,
  };
}
