import { createDecipheriv } from 'node:crypto';
import { DATA_KEY_BYTES, TAG_BYTES } from '../format/envelope.js';
import { additionalData, envelopeFlags } from '../format/envelope-bytes.js';
import type { ParsedEnvelope } from '../format/parse-envelope.js';
import { invalidEnvelope } from './invalid-envelope.js';

/**
 * Decrypts and authenticates an envelope's bulk ciphertext with its (unwrapped) data key.
 *
 * @throws INVALID_CIPHERTEXT when the data key is not 256 bits or the ciphertext, IV, tag, key name or
 * context does not authenticate
 */
export function openBulk(
  envelope: ParsedEnvelope,
  dataKey: Uint8Array,
  contextBytes: Uint8Array,
): Uint8Array {
  const where = `key "${envelope.keyName}" version "${envelope.keyVersion}"`;
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw invalidEnvelope(`the wrapped data key under ${where} is not a 256-bit key`, envelope.keyName);
  }
  const decipher = createDecipheriv('aes-256-gcm', dataKey, envelope.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(
    additionalData(envelope.keyName, envelopeFlags(envelope.storedContextBytes !== undefined), contextBytes),
  );
  decipher.setAuthTag(envelope.tag);
  const head = decipher.update(envelope.ciphertext);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw invalidEnvelope(
      `the envelope does not authenticate under ${where} and this encryption context: its ciphertext, IV or tag was altered, or the context differs`,
      envelope.keyName,
    );
  }
  const plaintext = new Uint8Array(head.length + tail.length);
  plaintext.set(head);
  plaintext.set(tail, head.length);
  head.fill(0);
  tail.fill(0);
  return plaintext;
}
