import type { HashName } from '@keyswitch/core';

/** The DER DigestInfo prefix (RFC 8017 §9.2, note 1) for each hash keyswitch signs with. */
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, string>> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** `DigestInfo(hash, digest)`: what RSASSA-PKCS1-v1_5 pads and signs. */
export function digestInfo(hash: HashName, digest: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
}

/**
 * EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2) of a precomputed digest into `emLength` bytes:
 * `00 01 FF…FF 00 || DigestInfo`. Returns `undefined` when the modulus is too short for it.
 */
export function emsaPkcs1v15Encode(hash: HashName, digest: Uint8Array, emLength: number): Buffer | undefined {
  const info = digestInfo(hash, digest);
  if (emLength < info.length + 11) return undefined;
  const encoded = Buffer.alloc(emLength, 0xff);
  encoded[0] = 0x00;
  encoded[1] = 0x01;
  encoded[emLength - info.length - 1] = 0x00;
  info.copy(encoded, emLength - info.length);
  return encoded;
}
