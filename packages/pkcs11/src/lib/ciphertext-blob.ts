import { type EncryptionContext, encodeEncryptionContext, KeyswitchError } from '@keyswitch/core';
import { GCM_IV_BYTES, GCM_TAG_BYTES } from './mechanisms.js';

/**
 * The SYMMETRIC_DEFAULT ciphertext blob of the PKCS#11 backend:
 *
 * ```
 * 'P' 0x01 | idLength (1 byte) | CKA_ID (idLength bytes) | IV (12 bytes) | ciphertext | tag (16 bytes)
 * ```
 *
 * The header (everything before the IV) and the canonical encryption context are the GCM additional
 * authenticated data, so a changed key id, a changed context or any flipped bit fails to authenticate.
 */
export interface CiphertextBlob {
  readonly keyId: Uint8Array;
  readonly iv: Uint8Array;
  /** Ciphertext followed by the 16-byte tag, as C_Decrypt takes it. */
  readonly sealed: Uint8Array;
}

const MAGIC = 0x50;
const VERSION = 0x01;
const AAD_LABEL = Buffer.from('keyswitch/pkcs11/aes-gcm/v1\0', 'utf8');

/** The blob header for a key id: magic, version, id length and id. */
export function blobHeader(keyId: Uint8Array): Buffer {
  if (keyId.length > 255)
    throw new KeyswitchError('INTERNAL', 'a CKA_ID longer than 255 bytes cannot go in a ciphertext blob');
  return Buffer.concat([Buffer.from([MAGIC, VERSION, keyId.length]), keyId]);
}

/** The additional authenticated data for a header and an encryption context. */
export function blobAad(header: Uint8Array, context: EncryptionContext | undefined): Buffer {
  return Buffer.concat([AAD_LABEL, header, encodeEncryptionContext(context)]);
}

/** Joins header, IV and sealed data into a blob. */
export function encodeBlob(header: Uint8Array, iv: Uint8Array, sealed: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([header, iv, sealed]));
}

/**
 * Splits a blob.
 *
 * @throws INVALID_CIPHERTEXT when it is too short or not a blob of this format
 */
export function decodeBlob(blob: Uint8Array): CiphertextBlob & { readonly header: Uint8Array } {
  if (blob.length < 3 || blob[0] !== MAGIC || blob[1] !== VERSION) {
    throw new KeyswitchError('INVALID_CIPHERTEXT', 'the ciphertext is not a keyswitch PKCS#11 AES-GCM blob');
  }
  const idLength = blob[2]!;
  const ivStart = 3 + idLength;
  if (blob.length < ivStart + GCM_IV_BYTES + GCM_TAG_BYTES) {
    throw new KeyswitchError('INVALID_CIPHERTEXT', 'the ciphertext is truncated');
  }
  return {
    header: blob.subarray(0, ivStart),
    keyId: blob.subarray(3, ivStart),
    iv: blob.subarray(ivStart, ivStart + GCM_IV_BYTES),
    sealed: blob.subarray(ivStart + GCM_IV_BYTES),
  };
}
