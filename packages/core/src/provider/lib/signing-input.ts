import { createHash } from 'node:crypto';
import { withArticle } from '../../english/with-article.js';
import { KeyswitchError } from '../../errors.js';
import { assertBytes } from '../../lib/checks.js';
import { algorithmInfo, type SigningAlgorithm } from '../../vocabulary/algorithms.js';
import type { MessageType, SigningTraits, SignRequest } from '../contract.js';
import type { SignInput } from '../hook-inputs.js';

/**
 * The message type and message bytes of a sign or verify request, checked before the key is looked up.
 *
 * @throws INVALID_INPUT for an unknown `messageType` or `signatureFormat`, or a message that is not bytes
 *
 * @example
 * ```ts
 * const { messageType, message } = readSigningRequest({ ref, algorithm: 'ECDSA_SHA_256', message: bytes });
 * ```
 */
export function readSigningRequest(request: SignRequest): { messageType: MessageType; message: Uint8Array } {
  const messageType = request.messageType ?? 'RAW';
  if (messageType !== 'RAW' && messageType !== 'DIGEST') {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `messageType must be RAW or DIGEST, got ${JSON.stringify(messageType)}`,
    );
  }
  if (
    request.signatureFormat !== undefined &&
    request.signatureFormat !== 'DER' &&
    request.signatureFormat !== 'P1363'
  ) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `signatureFormat must be DER or P1363, got ${JSON.stringify(request.signatureFormat)}`,
    );
  }
  const message = assertBytes(request.message, messageType === 'RAW' ? 'message' : 'digest');
  return { messageType, message };
}

/**
 * What the signing hooks receive: a digest checked for its length, a RAW message the backend can take
 * whole, or else the message's digest (the same signature).
 *
 * @throws INVALID_INPUT for a digest of the wrong length
 *
 * @example
 * ```ts
 * const input = fitSigningInput('ECDSA_SHA_256', message, 'RAW', DEFAULT_SIGNING_TRAITS);
 * ```
 */
export function fitSigningInput(
  algorithm: SigningAlgorithm,
  message: Uint8Array,
  messageType: MessageType,
  traits: SigningTraits,
): SignInput {
  const info = algorithmInfo(algorithm);
  if (messageType === 'DIGEST') {
    if (message.byteLength !== info.digestBytes) {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `${withArticle(algorithm)} digest must be ${info.digestBytes} bytes, got ${message.byteLength}`,
      );
    }
    return { algorithm, message, messageType };
  }
  const { min, max } = traits.rawMessageBytes;
  if (message.byteLength >= min && message.byteLength <= max) {
    return { algorithm, message, messageType };
  }
  // The backend cannot take this message whole: sign its digest, which is the same signature.
  const digest = new Uint8Array(createHash(info.hash!).update(message).digest());
  return { algorithm, message: digest, messageType: 'DIGEST' };
}
