import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type EncryptionContext, encodeEncryptionContext, KeyswitchError } from '@keyswitch/core';

/**
 * The SYMMETRIC_DEFAULT ciphertext blob: self-describing, AES-256-GCM.
 *
 * ```
 * offset  size  field
 *      0     1  format version (0x01)
 *      1    16  key id (the UUID's 16 bytes)
 *     17    12  IV (random)
 *     29     n  ciphertext
 *   29+n    16  GCM tag
 * ```
 *
 * The AAD is the first 17 bytes (version and key id) followed by the canonical encryption context, so a
 * changed header, another key or another context fails authentication.
 */
const VERSION = 0x01;
const ID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + ID_BYTES;

function keyIdBytes(keyId: string): Buffer {
  return Buffer.from(keyId.replaceAll('-', ''), 'hex');
}

function aad(header: Uint8Array, context: EncryptionContext | undefined): Buffer {
  return Buffer.concat([header, encodeEncryptionContext(context)]);
}

function invalid(): KeyswitchError {
  return new KeyswitchError(
    'INVALID_CIPHERTEXT',
    'the ciphertext does not authenticate under this key and encryption context',
  );
}

/** Encrypts under a 32-byte AES key, binding the key id and the encryption context. */
export function sealSymmetric(
  key: Buffer,
  keyId: string,
  plaintext: Uint8Array,
  context: EncryptionContext | undefined,
): Uint8Array {
  const header = Buffer.concat([Buffer.from([VERSION]), keyIdBytes(keyId)]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(header, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([header, iv, body, cipher.getAuthTag()]));
}

/**
 * Decrypts a blob made by {@link sealSymmetric}.
 *
 * @throws INVALID_CIPHERTEXT when the blob is malformed, was made under another key, was changed, or
 * the context differs
 */
export function openSymmetric(
  key: Buffer,
  keyId: string,
  blob: Uint8Array,
  context: EncryptionContext | undefined,
): Uint8Array {
  if (blob.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || blob[0] !== VERSION) throw invalid();
  const header = blob.subarray(0, HEADER_BYTES);
  if (!keyIdBytes(keyId).equals(header.subarray(1))) throw invalid();
  const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const body = blob.subarray(HEADER_BYTES + IV_BYTES, blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(header, context));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  const plaintext = decipher.update(body);
  try {
    return new Uint8Array(Buffer.concat([plaintext, decipher.final()]));
  } catch {
    throw invalid();
  } finally {
    plaintext.fill(0);
  }
}
