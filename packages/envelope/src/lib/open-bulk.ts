import { createDecipheriv } from 'node:crypto';
import { DATA_KEY_BYTES, TAG_BYTES } from '../format/envelope.js';
import { additionalData, envelopeFlags, legacyAdditionalData } from '../format/envelope-bytes.js';
import type { ParsedEnvelope } from '../format/parse-envelope.js';
import { invalidEnvelope } from './invalid-envelope.js';
import { commitmentMatches, encryptionKeyOf } from './key-commitment.js';

/**
 * Decrypts and authenticates a format 2 envelope's ciphertext with the key schedule derived from its data
 * key: the commitment is checked first, in constant time, and nothing is decrypted when it differs.
 *
 * @throws INVALID_CIPHERTEXT when the commitment differs (another data key: altered, or built to open
 * two ways) or the ciphertext, IV, tag, key name or context does not authenticate
 */
export function openCommitted(
  envelope: ParsedEnvelope,
  derived: Buffer,
  contextBytes: Uint8Array,
): Uint8Array {
  if (!commitmentMatches(derived, envelope.commitment!)) {
    throw invalidEnvelope(
      `the data key of ${where(envelope)} does not match the envelope's key commitment: the envelope was altered, or made to open differently under different wrapped keys`,
      envelope.keyName,
    );
  }
  const aad = additionalData(
    envelope.keyName,
    envelopeFlags(envelope.storedContextBytes !== undefined),
    contextBytes,
    envelope.salt!,
    envelope.commitment!,
  );
  return gcmOpen(envelope, encryptionKeyOf(derived), aad);
}

/**
 * Decrypts and authenticates a format 1 envelope's ciphertext with its (unwrapped) data key. Format 1 is
 * not key-committing: this is for reading old records and re-wrapping them to format 2.
 *
 * @throws INVALID_CIPHERTEXT when the data key is not 256 bits or the ciphertext does not authenticate
 */
export function openLegacy(
  envelope: ParsedEnvelope,
  dataKey: Uint8Array,
  contextBytes: Uint8Array,
): Uint8Array {
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw invalidEnvelope(
      `the wrapped data key of ${where(envelope)} is not a 256-bit key`,
      envelope.keyName,
    );
  }
  const aad = legacyAdditionalData(
    envelope.keyName,
    envelopeFlags(envelope.storedContextBytes !== undefined),
    contextBytes,
  );
  return gcmOpen(envelope, dataKey, aad);
}

function gcmOpen(envelope: ParsedEnvelope, key: Uint8Array, aad: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', key, envelope.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(envelope.tag);
  const head = decipher.update(envelope.ciphertext);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw invalidEnvelope(
      `${where(envelope)} does not authenticate with this encryption context: its ciphertext, IV or tag was altered, or the context differs`,
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

function where(envelope: ParsedEnvelope): string {
  return `the envelope under key "${envelope.keyName}" version "${envelope.keyVersion}"`;
}
