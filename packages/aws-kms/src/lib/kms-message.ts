import { createHash } from 'node:crypto';
import { algorithmInfo, type SignInput } from '@keyswitch/core';

/**
 * Largest message KMS signs or verifies as `RAW`; longer messages are hashed here and sent as `DIGEST`.
 *
 * @example
 * ```ts
 * const messageType = message.byteLength > KMS_MAX_RAW_MESSAGE_BYTES ? 'DIGEST' : 'RAW';
 * ```
 */
export const KMS_MAX_RAW_MESSAGE_BYTES = 4096;

/** The message and message type to send: RAW up to 4,096 bytes, else the digest, hashed here. */
export function kmsMessage(input: SignInput): { message: Uint8Array; messageType: 'RAW' | 'DIGEST' } {
  if (input.messageType === 'RAW' && input.message.byteLength > KMS_MAX_RAW_MESSAGE_BYTES) {
    const hash = algorithmInfo(input.algorithm).hash!;
    return {
      message: new Uint8Array(createHash(hash).update(input.message).digest()),
      messageType: 'DIGEST',
    };
  }
  return { message: input.message, messageType: input.messageType };
}
