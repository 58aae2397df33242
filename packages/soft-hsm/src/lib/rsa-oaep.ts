import { constants, type KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { type HashName, KeyswitchError } from '@keyswitch/core';

/** RSAES-OAEP encryption with MGF1 on the same hash and an empty label. */
export function encryptOaep(publicKey: KeyObject, hash: HashName, plaintext: Uint8Array): Uint8Array {
  return new Uint8Array(
    publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext),
  );
}

/**
 * RSAES-OAEP decryption.
 *
 * @throws INVALID_CIPHERTEXT for a ciphertext of the wrong length or one that does not decode
 */
export function decryptOaep(privateKey: KeyObject, hash: HashName, ciphertext: Uint8Array): Uint8Array {
  const modulusBytes = Math.ceil(privateKey.asymmetricKeyDetails!.modulusLength! / 8);
  if (ciphertext.length !== modulusBytes) {
    throw new KeyswitchError(
      'INVALID_CIPHERTEXT',
      `an OAEP ciphertext for this key is ${modulusBytes} bytes, got ${ciphertext.length}`,
    );
  }
  let plaintext: Buffer;
  try {
    plaintext = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
      ciphertext,
    );
  } catch {
    throw new KeyswitchError(
      'INVALID_CIPHERTEXT',
      'the ciphertext does not decrypt under this key and algorithm',
    );
  }
  const copy = new Uint8Array(plaintext);
  plaintext.fill(0);
  return copy;
}
