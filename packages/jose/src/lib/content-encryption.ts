import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { concatBytes, constantTimeEqual, invalidInput } from '@keyswitch/core';
import { uint64BigEndian } from './big-endian.js';
import { invalidCiphertext } from './errors.js';

/** JWE content encryption algorithms (RFC 7518 §5). */
export type ContentEncryption =
  | 'A128CBC-HS256'
  | 'A192CBC-HS384'
  | 'A256CBC-HS512'
  | 'A128GCM'
  | 'A192GCM'
  | 'A256GCM';

interface EncInfo {
  readonly mode: 'CBC-HMAC' | 'GCM';
  /** Content encryption key bytes (for CBC-HMAC, MAC key and AES key together). */
  readonly keyBytes: number;
  readonly ivBytes: number;
  readonly tagBytes: number;
  readonly cipher: string;
  readonly hmac?: 'sha256' | 'sha384' | 'sha512';
}

const ENC: Readonly<Record<ContentEncryption, EncInfo>> = {
  'A128CBC-HS256': {
    mode: 'CBC-HMAC',
    keyBytes: 32,
    ivBytes: 16,
    tagBytes: 16,
    cipher: 'aes-128-cbc',
    hmac: 'sha256',
  },
  'A192CBC-HS384': {
    mode: 'CBC-HMAC',
    keyBytes: 48,
    ivBytes: 16,
    tagBytes: 24,
    cipher: 'aes-192-cbc',
    hmac: 'sha384',
  },
  'A256CBC-HS512': {
    mode: 'CBC-HMAC',
    keyBytes: 64,
    ivBytes: 16,
    tagBytes: 32,
    cipher: 'aes-256-cbc',
    hmac: 'sha512',
  },
  A128GCM: { mode: 'GCM', keyBytes: 16, ivBytes: 12, tagBytes: 16, cipher: 'aes-128-gcm' },
  A192GCM: { mode: 'GCM', keyBytes: 24, ivBytes: 12, tagBytes: 16, cipher: 'aes-192-gcm' },
  A256GCM: { mode: 'GCM', keyBytes: 32, ivBytes: 12, tagBytes: 16, cipher: 'aes-256-gcm' },
};

/** Every supported content encryption algorithm. */
export const CONTENT_ENCRYPTIONS: readonly ContentEncryption[] = Object.keys(ENC) as ContentEncryption[];

/** Facts about an `enc` value; INVALID_INPUT when it is not supported. */
export function contentEncryptionInfo(enc: unknown, what = 'JWE'): EncInfo {
  if (typeof enc !== 'string' || !Object.hasOwn(ENC, enc)) {
    throw invalidInput(
      `${what} content encryption ${JSON.stringify(enc)} is not supported; supported: ${CONTENT_ENCRYPTIONS.join(', ')}`,
    );
  }
  return ENC[enc as ContentEncryption];
}

/** Whether `enc` is a supported content encryption algorithm. */
export function isContentEncryption(enc: unknown): enc is ContentEncryption {
  return typeof enc === 'string' && Object.hasOwn(ENC, enc);
}

/** Encrypts content (RFC 7518 §5.2.2.1 for CBC-HMAC; AES-GCM with a 128-bit tag). */
export function encryptContent(
  enc: ContentEncryption,
  cek: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  const info = ENC[enc];
  assertSizes(info, enc, cek, iv);
  if (info.mode === 'GCM') {
    const cipher = createCipheriv(info.cipher as 'aes-128-gcm', cek, iv, { authTagLength: info.tagBytes });
    cipher.setAAD(aad);
    const ciphertext = concatBytes(cipher.update(plaintext), cipher.final());
    return { ciphertext, tag: new Uint8Array(cipher.getAuthTag()) };
  }
  const half = info.keyBytes / 2;
  const cipher = createCipheriv(info.cipher, cek.subarray(half), iv);
  const ciphertext = concatBytes(cipher.update(plaintext), cipher.final());
  return { ciphertext, tag: cbcHmacTag(info, cek.subarray(0, half), aad, iv, ciphertext) };
}

/** Decrypts content; a wrong key, tag, IV or AAD is INVALID_CIPHERTEXT without saying which. */
export function decryptContent(
  enc: ContentEncryption,
  cek: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const info = ENC[enc];
  if (iv.length !== info.ivBytes)
    throw invalidInput(`JWE IV for ${enc} must be ${info.ivBytes} bytes, got ${iv.length}`);
  if (tag.length !== info.tagBytes) {
    throw invalidInput(`JWE authentication tag for ${enc} must be ${info.tagBytes} bytes, got ${tag.length}`);
  }
  assertSizes(info, enc, cek, iv);
  if (info.mode === 'GCM') {
    try {
      const decipher = createDecipheriv(info.cipher as 'aes-128-gcm', cek, iv, {
        authTagLength: info.tagBytes,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return concatBytes(decipher.update(ciphertext), decipher.final());
    } catch {
      throw invalidCiphertext('JWE does not decrypt: the authentication tag does not verify');
    }
  }
  const half = info.keyBytes / 2;
  const expected = cbcHmacTag(info, cek.subarray(0, half), aad, iv, ciphertext);
  if (!constantTimeEqual(expected, tag)) {
    throw invalidCiphertext('JWE does not decrypt: the authentication tag does not verify');
  }
  try {
    const decipher = createDecipheriv(info.cipher, cek.subarray(half), iv);
    return concatBytes(decipher.update(ciphertext), decipher.final());
  } catch {
    throw invalidCiphertext('JWE does not decrypt: the authentication tag does not verify');
  }
}

/** The CEK length an `enc` needs, in bytes. */
export function contentKeyBytes(enc: ContentEncryption): number {
  return ENC[enc].keyBytes;
}

/** The IV length an `enc` needs, in bytes. */
export function contentIvBytes(enc: ContentEncryption): number {
  return ENC[enc].ivBytes;
}

function cbcHmacTag(
  info: EncInfo,
  macKey: Uint8Array,
  aad: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
) {
  const al = uint64BigEndian(aad.length * 8);
  const mac = createHmac(info.hmac!, macKey).update(aad).update(iv).update(ciphertext).update(al).digest();
  return new Uint8Array(mac.subarray(0, info.tagBytes));
}

function assertSizes(info: EncInfo, enc: ContentEncryption, cek: Uint8Array, iv: Uint8Array): void {
  if (cek.length !== info.keyBytes) {
    throw invalidInput(
      `the content encryption key for ${enc} must be ${info.keyBytes} bytes, got ${cek.length}`,
    );
  }
  if (iv.length !== info.ivBytes)
    throw invalidInput(`the IV for ${enc} must be ${info.ivBytes} bytes, got ${iv.length}`);
}
