import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { CurveName, KeySpec } from '../../../src/vocabulary/key-specs.js';

/** A key pair made by node:crypto, the independent implementation the encodings are checked against. */
export interface NodeKey {
  readonly spec: KeySpec;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  /** node's SPKI DER export. */
  readonly spki: Uint8Array;
}

export const RSA_SIZES = [
  { spec: 'RSA_2048', bits: 2048 },
  { spec: 'RSA_3072', bits: 3072 },
  { spec: 'RSA_4096', bits: 4096 },
] as const satisfies readonly { spec: KeySpec; bits: number }[];

export const EC_CURVES = [
  { spec: 'ECC_NIST_P256', curve: 'P-256', coordinateBytes: 32, hash: 'sha256' },
  { spec: 'ECC_NIST_P384', curve: 'P-384', coordinateBytes: 48, hash: 'sha384' },
  { spec: 'ECC_NIST_P521', curve: 'P-521', coordinateBytes: 66, hash: 'sha512' },
] as const satisfies readonly { spec: KeySpec; curve: CurveName; coordinateBytes: number; hash: string }[];

const cache = new Map<KeySpec, NodeKey>();

/** A node:crypto key pair of `spec`, made once per test file. */
export function nodeKey(spec: KeySpec): NodeKey {
  let key = cache.get(spec);
  if (key === undefined) {
    const rsa = RSA_SIZES.find((entry) => entry.spec === spec);
    const ec = EC_CURVES.find((entry) => entry.spec === spec);
    const pair = rsa
      ? generateKeyPairSync('rsa', { modulusLength: rsa.bits })
      : generateKeyPairSync('ec', { namedCurve: ec!.curve });
    key = {
      spec,
      ...pair,
      spki: new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })),
    };
    cache.set(spec, key);
  }
  return key;
}

/** Bytes from hex. */
export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
