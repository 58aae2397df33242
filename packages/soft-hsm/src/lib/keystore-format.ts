import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyswitchError } from '@keyswitch/core';
import type { ScryptParameters } from './scrypt-key.js';

/**
 * The keystore file:
 *
 * ```
 * offset  size  field
 *      0     5  magic "KSHSM"
 *      5     1  format version (0x01)
 *      6     4  header length h, big-endian
 *     10     h  header, UTF-8 JSON:
 *                 {"kdf":{"name":"scrypt","N":32768,"r":8,"p":1,"salt":"<base64>"},
 *                  "cipher":"aes-256-gcm","iv":"<base64, 12 bytes>"}
 *   10+h     n  the key set, AES-256-GCM encrypted under the scrypt-derived key
 *       …   16  GCM tag
 * ```
 *
 * Everything before the ciphertext is the AAD, so the header cannot be changed either.
 */
const MAGIC = Buffer.from('KSHSM', 'ascii');
const VERSION = 0x01;
const PREFIX_BYTES = MAGIC.length + 1 + 4;
const TAG_BYTES = 16;
const MAX_HEADER_BYTES = 4096;

/** A keystore file split into its parts. */
export interface KeystoreFileParts {
  readonly kdf: ScryptParameters;
  readonly iv: Buffer;
  readonly aad: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function corrupted(where: string, why: string): KeyswitchError {
  return new KeyswitchError('CONFIG_INVALID', `cannot open keystore: ${why} (${where})`);
}

/** Encrypts a serialized key set into a keystore file under a key derived with `kdf`. */
export function encodeKeystoreFile(plaintext: Uint8Array, key: Buffer, kdf: ScryptParameters): Buffer {
  const iv = randomBytes(12);
  const header = Buffer.from(
    JSON.stringify({
      kdf: { name: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: Buffer.from(kdf.salt).toString('base64') },
      cipher: 'aes-256-gcm',
      iv: iv.toString('base64'),
    }),
    'utf8',
  );
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix);
  prefix[MAGIC.length] = VERSION;
  prefix.writeUInt32BE(header.length, MAGIC.length + 1);
  const aad = Buffer.concat([prefix, header]);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  return Buffer.concat([aad, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/**
 * Splits a keystore file and reads its header.
 *
 * @throws CONFIG_INVALID when the file is not a keystore, or a version or parameters this code does not know
 */
export function parseKeystoreFile(file: Buffer, where: string): KeystoreFileParts {
  if (file.length < PREFIX_BYTES + TAG_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupted(where, 'not a keyswitch soft-hsm keystore');
  }
  if (file[MAGIC.length] !== VERSION) {
    throw corrupted(
      where,
      `keystore format version ${file[MAGIC.length]} is not supported (this version reads ${VERSION})`,
    );
  }
  const headerLength = file.readUInt32BE(MAGIC.length + 1);
  if (headerLength > MAX_HEADER_BYTES || PREFIX_BYTES + headerLength + TAG_BYTES > file.length) {
    throw corrupted(where, 'wrong passphrase or corrupted file');
  }
  const aad = file.subarray(0, PREFIX_BYTES + headerLength);
  let kdf: ScryptParameters;
  let iv: Buffer;
  try {
    const header = JSON.parse(aad.subarray(PREFIX_BYTES).toString('utf8'));
    if (header.kdf.name !== 'scrypt' || header.cipher !== 'aes-256-gcm') {
      throw new Error('unknown algorithms');
    }
    kdf = {
      N: header.kdf.N,
      r: header.kdf.r,
      p: header.kdf.p,
      salt: Buffer.from(String(header.kdf.salt), 'base64'),
    };
    iv = Buffer.from(String(header.iv), 'base64');
    if (iv.length !== 12) throw new Error('bad iv');
  } catch {
    throw corrupted(where, 'wrong passphrase or corrupted file');
  }
  return {
    kdf,
    iv,
    aad,
    ciphertext: file.subarray(aad.length, file.length - TAG_BYTES),
    tag: file.subarray(file.length - TAG_BYTES),
  };
}

/**
 * Decrypts a keystore file's key set.
 *
 * @throws CONFIG_INVALID "cannot open keystore: wrong passphrase or corrupted file" when it does not
 * authenticate: the two cannot be told apart, by design
 */
export function decryptKeystoreFile(parts: KeystoreFileParts, key: Buffer, where: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(parts.aad);
  decipher.setAuthTag(parts.tag);
  const plaintext = decipher.update(parts.ciphertext);
  try {
    return Buffer.concat([plaintext, decipher.final()]);
  } catch {
    throw corrupted(where, 'wrong passphrase or corrupted file');
  } finally {
    plaintext.fill(0);
  }
}
