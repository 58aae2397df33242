import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { algorithmsFor, keySpecInfo, type MacAlgorithm } from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from './support/errors.js';

const message = new TextEncoder().encode('PAN 4111111111111111 for keyed hashing');
let hsm: SoftHsm;

beforeAll(async () => {
  hsm = await SoftHsm.open();
});

afterAll(() => hsm.close());

describe('HMAC', () => {
  it.each([
    ['HMAC_256', 'sha256', 32],
    ['HMAC_384', 'sha384', 48],
    ['HMAC_512', 'sha512', 64],
  ] as const)(
    '%s: equals node:crypto HMAC under the same imported key, and verifies',
    async (spec, hash, length) => {
      const raw = randomBytes(length);
      const label = `hmac-${spec}`;
      await hsm.importKey({ label, usage: 'GENERATE_VERIFY_MAC', spec, raw });
      const algorithm = algorithmsFor(spec, 'GENERATE_VERIFY_MAC')[0] as MacAlgorithm;
      const mac = await hsm.generateMac({ ref: label, algorithm, message });
      expect(Buffer.from(mac)).toEqual(createHmac(hash, raw).update(message).digest());
      expect(await hsm.verifyMac({ ref: label, algorithm, message, mac })).toBe(true);
      const wrong = Uint8Array.from(mac);
      wrong[0]! ^= 1;
      expect(await hsm.verifyMac({ ref: label, algorithm, message, mac: wrong })).toBe(false);
      expect(await hsm.verifyMac({ ref: label, algorithm, message, mac: mac.subarray(0, 16) })).toBe(false);
      expect(await hsm.verifyMac({ ref: label, algorithm, message, mac: new Uint8Array(0) })).toBe(false);
    },
  );

  it.each(['HMAC_256', 'HMAC_384', 'HMAC_512'] as const)(
    'creates %s keys whose MACs verify',
    async (spec) => {
      const { ref } = await hsm.createKey({ spec, usage: 'GENERATE_VERIFY_MAC' });
      const algorithm = algorithmsFor(spec, 'GENERATE_VERIFY_MAC')[0] as MacAlgorithm;
      const mac = await hsm.generateMac({ ref, algorithm, message });
      expect(mac.length).toBe(keySpecInfo(spec).bits / 8);
      expect(await hsm.verifyMac({ ref, algorithm, message, mac })).toBe(true);
      await expectCode(
        hsm.generateMac({ ref, algorithm: 'HMAC_SHA_256', message: new Uint8Array(4097) }),
        'INVALID_INPUT',
      );
    },
  );

  it('refuses the wrong MAC algorithm for the key and MACs with other keys', async () => {
    await expectCode(
      hsm.generateMac({ ref: 'hmac-HMAC_256', algorithm: 'HMAC_SHA_512', message }),
      'USAGE_MISMATCH',
    );
    const { ref } = await hsm.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' });
    await expectCode(hsm.generateMac({ ref, algorithm: 'HMAC_SHA_256', message }), 'USAGE_MISMATCH');
  });
});

describe('ECDH', () => {
  it.each(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const)(
    '%s: equals node:crypto diffieHellman on the peer side',
    async (spec) => {
      const { ref } = await hsm.createKey({ spec, usage: 'KEY_AGREEMENT' });
      const hsmPublic = createPublicKey({
        key: Buffer.from((await hsm.getPublicKey(ref)).spki),
        format: 'der',
        type: 'spki',
      });
      const peer = generateKeyPairSync('ec', { namedCurve: keySpecInfo(spec).namedCurve! });
      const shared = await hsm.deriveSharedSecret({
        ref,
        algorithm: 'ECDH',
        publicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
      });
      expect(shared.length).toBe(keySpecInfo(spec).coordinateBytes);
      expect(Buffer.from(shared)).toEqual(
        diffieHellman({ privateKey: peer.privateKey, publicKey: hsmPublic }),
      );
    },
  );

  it('refuses a peer on another curve, a malformed peer key, and signing keys', async () => {
    const { ref } = await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'KEY_AGREEMENT' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    await expectCode(hsm.deriveSharedSecret({ ref, algorithm: 'ECDH', publicKey: p384 }), 'INVALID_INPUT');
    await expectCode(
      hsm.deriveSharedSecret({ ref, algorithm: 'ECDH', publicKey: new Uint8Array([0x30, 0x03, 1, 2, 3]) }),
      'INVALID_INPUT',
    );
    await expectCode(hsm.sign({ ref, algorithm: 'ECDSA_SHA_256', message }), 'USAGE_MISMATCH');
    const signing = await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' });
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    await expectCode(
      hsm.deriveSharedSecret({ ref: signing.ref, algorithm: 'ECDH', publicKey: peer }),
      'USAGE_MISMATCH',
    );
  });
});

describe('random', () => {
  it.each([1, 16, 32, 1024])('gives %i random bytes', async (length) => {
    const bytes = await hsm.generateRandom(length);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(bytes)).toBe(false);
    expect(bytes.length).toBe(length);
  });

  it('gives different bytes each time and refuses lengths out of range', async () => {
    const a = await hsm.generateRandom(32);
    const b = await hsm.generateRandom(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    for (const length of [0, -1, 1025, 1.5, Number.NaN])
      await expectCode(hsm.generateRandom(length), 'INVALID_INPUT');
  });
});
