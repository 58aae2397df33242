import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import {
  algorithmInfo,
  algorithmsFor,
  ecdsaDerToP1363,
  type KeySpec,
  keySpecInfo,
  type SigningAlgorithm,
} from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from './support/errors.js';

const SPECS: KeySpec[] = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
];
const message = new TextEncoder().encode('AReq: 3DS 2.3.1 message to sign');

let hsm: SoftHsm;
const publicKeys = new Map<KeySpec, KeyObject>();

beforeAll(async () => {
  hsm = await SoftHsm.open();
  await Promise.all(
    SPECS.map(async (spec) => {
      await hsm.createKey({ spec, usage: 'SIGN_VERIFY', label: `sign-${spec}` });
      const publicKey = await hsm.getPublicKey(`sign-${spec}`);
      publicKeys.set(
        spec,
        createPublicKey({ key: Buffer.from(publicKey.spki), format: 'der', type: 'spki' }),
      );
    }),
  );
});

afterAll(() => hsm.close());

/** node:crypto's options for an algorithm: PSS with a digest-length salt, DER ECDSA. */
function nodeOptions(key: KeyObject, algorithm: SigningAlgorithm) {
  const info = algorithmInfo(algorithm);
  if (info.family === 'RSA_PSS')
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.digestBytes! };
  if (info.family === 'RSA_PKCS1') return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, dsaEncoding: 'der' as const };
}

const cases = SPECS.flatMap((spec) =>
  (algorithmsFor(spec, 'SIGN_VERIFY') as SigningAlgorithm[]).map((algorithm) => ({ spec, algorithm })),
);

describe.each(cases)('$algorithm with $spec', ({ spec, algorithm }) => {
  const ref = `sign-${spec}`;
  const hash = algorithmInfo(algorithm).hash!;

  it('signs RAW messages that node:crypto verifies with the exported SPKI', async () => {
    const signature = await hsm.sign({ ref, algorithm, message });
    expect(verify(hash, message, nodeOptions(publicKeys.get(spec)!, algorithm), signature)).toBe(true);
    expect(await hsm.verify({ ref, algorithm, message, signature })).toBe(true);
  });

  it('signs DIGESTs without re-hashing: node:crypto verifies them against the message', async () => {
    const digest = createHash(hash).update(message).digest();
    const signature = await hsm.sign({ ref, algorithm, message: digest, messageType: 'DIGEST' });
    expect(verify(hash, message, nodeOptions(publicKeys.get(spec)!, algorithm), signature)).toBe(true);
    // DIGEST and RAW agree both ways.
    expect(await hsm.verify({ ref, algorithm, message, signature })).toBe(true);
    const raw = await hsm.sign({ ref, algorithm, message });
    expect(await hsm.verify({ ref, algorithm, message: digest, messageType: 'DIGEST', signature: raw })).toBe(
      true,
    );
    expect(await hsm.verify({ ref, algorithm, message: digest, messageType: 'DIGEST', signature })).toBe(
      true,
    );
  });

  it('rejects changed messages, changed and truncated signatures (false, not an error)', async () => {
    const digest = createHash(hash).update(message).digest();
    const signature = await hsm.sign({ ref, algorithm, message });
    const other = new TextEncoder().encode('another message');
    expect(await hsm.verify({ ref, algorithm, message: other, signature })).toBe(false);
    const tampered = Uint8Array.from(signature);
    tampered[tampered.length - 5]! ^= 0x01;
    expect(await hsm.verify({ ref, algorithm, message, signature: tampered })).toBe(false);
    expect(
      await hsm.verify({ ref, algorithm, message: digest, messageType: 'DIGEST', signature: tampered }),
    ).toBe(false);
    expect(await hsm.verify({ ref, algorithm, message, signature: signature.subarray(1) })).toBe(false);
    expect(
      await hsm.verify({
        ref,
        algorithm,
        message: digest,
        messageType: 'DIGEST',
        signature: new Uint8Array(3),
      }),
    ).toBe(false);
  });
});

describe('signatures made by node:crypto', () => {
  it('verify through the provider for every algorithm, RAW and DIGEST (with imported keys)', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (key: KeyObject, type: 'pkcs8' | 'sec1') => key.export({ format: 'pem', type }) as string;
    await hsm.importKey({ label: 'node-rsa', usage: 'SIGN_VERIFY', pem: pem(rsa.privateKey, 'pkcs8') });
    const all: [string, KeyObject, SigningAlgorithm][] = (
      algorithmsFor('RSA_2048', 'SIGN_VERIFY') as SigningAlgorithm[]
    ).map((algorithm) => ['node-rsa', rsa.privateKey, algorithm]);
    for (const spec of ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const) {
      const ec = generateKeyPairSync('ec', { namedCurve: keySpecInfo(spec).namedCurve! });
      await hsm.importKey({ label: `node-${spec}`, usage: 'SIGN_VERIFY', pem: pem(ec.privateKey, 'sec1') });
      all.push([`node-${spec}`, ec.privateKey, algorithmsFor(spec, 'SIGN_VERIFY')[0] as SigningAlgorithm]);
    }
    for (const [ref, privateKey, algorithm] of all) {
      const hash = algorithmInfo(algorithm).hash!;
      const signature = sign(hash, message, nodeOptions(privateKey, algorithm));
      expect(await hsm.verify({ ref, algorithm, message, signature }), algorithm).toBe(true);
      const digest = createHash(hash).update(message).digest();
      expect(
        await hsm.verify({ ref, algorithm, message: digest, messageType: 'DIGEST', signature }),
        algorithm,
      ).toBe(true);
      // And the HSM's own signatures with the imported key verify with the original public key.
      const mine = await hsm.sign({ ref, algorithm, message: digest, messageType: 'DIGEST' });
      expect(
        verify(hash, message, nodeOptions(createPublicKey(privateKey), algorithm), mine),
        algorithm,
      ).toBe(true);
    }
  });

  it('PSS verification accepts only a salt as long as the digest', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await hsm.importKey({
      label: 'node-rsa-pss',
      usage: 'SIGN_VERIFY',
      pem: rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
    });
    const digest = createHash('sha256').update(message).digest();
    for (const saltLength of [0, 20, 64]) {
      const signature = sign('sha256', message, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength,
      });
      expect(
        await hsm.verify({ ref: 'node-rsa-pss', algorithm: 'RSASSA_PSS_SHA_256', message, signature }),
      ).toBe(false);
      expect(
        await hsm.verify({
          ref: 'node-rsa-pss',
          algorithm: 'RSASSA_PSS_SHA_256',
          message: digest,
          messageType: 'DIGEST',
          signature,
        }),
      ).toBe(false);
    }
  });
});

describe('ECDSA signature formats', () => {
  it.each(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const)(
    '%s: P1363 on request, DER by default',
    async (spec) => {
      const ref = `sign-${spec}`;
      const algorithm = algorithmsFor(spec, 'SIGN_VERIFY')[0] as SigningAlgorithm;
      const size = keySpecInfo(spec).coordinateBytes!;
      const hash = algorithmInfo(algorithm).hash!;
      const der = await hsm.sign({ ref, algorithm, message });
      expect(der[0]).toBe(0x30);
      const p1363 = await hsm.sign({ ref, algorithm, message, signatureFormat: 'P1363' });
      expect(p1363.length).toBe(2 * size);
      expect(verify(hash, message, { key: publicKeys.get(spec)!, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(
        true,
      );
      expect(await hsm.verify({ ref, algorithm, message, signature: p1363, signatureFormat: 'P1363' })).toBe(
        true,
      );
      expect(
        await hsm.verify({
          ref,
          algorithm,
          message,
          signature: ecdsaDerToP1363(der, size),
          signatureFormat: 'P1363',
        }),
      ).toBe(true);
      const digest = createHash(hash).update(message).digest();
      const digestP1363 = await hsm.sign({
        ref,
        algorithm,
        message: digest,
        messageType: 'DIGEST',
        signatureFormat: 'P1363',
      });
      expect(
        verify(hash, message, { key: publicKeys.get(spec)!, dsaEncoding: 'ieee-p1363' }, digestP1363),
      ).toBe(true);
      // A DER signature offered as P1363 (or the reverse) is a failed verification, not an error.
      expect(await hsm.verify({ ref, algorithm, message, signature: der, signatureFormat: 'P1363' })).toBe(
        false,
      );
      expect(await hsm.verify({ ref, algorithm, message, signature: p1363 })).toBe(false);
    },
  );

  it('DIGEST ECDSA signatures are randomized, and an all-zero digest still signs correctly', async () => {
    const ref = 'sign-ECC_NIST_P256';
    const zero = new Uint8Array(32);
    const a = await hsm.sign({ ref, algorithm: 'ECDSA_SHA_256', message: zero, messageType: 'DIGEST' });
    const b = await hsm.sign({ ref, algorithm: 'ECDSA_SHA_256', message: zero, messageType: 'DIGEST' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(
      await hsm.verify({
        ref,
        algorithm: 'ECDSA_SHA_256',
        message: zero,
        messageType: 'DIGEST',
        signature: a,
      }),
    ).toBe(true);
  });
});

describe('signing errors', () => {
  it('refuses a digest of the wrong length and algorithms the key does not allow', async () => {
    await expectCode(
      hsm.sign({
        ref: 'sign-RSA_2048',
        algorithm: 'RSASSA_PSS_SHA_256',
        message: new Uint8Array(31),
        messageType: 'DIGEST',
      }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.sign({ ref: 'sign-ECC_NIST_P256', algorithm: 'ECDSA_SHA_384', message }),
      'USAGE_MISMATCH',
    );
    await expectCode(
      hsm.sign({ ref: 'sign-RSA_2048', algorithm: 'ECDSA_SHA_256', message }),
      'USAGE_MISMATCH',
    );
    await expectCode(
      hsm.encrypt({ ref: 'sign-RSA_2048', algorithm: 'RSAES_OAEP_SHA_256', plaintext: message }),
      'USAGE_MISMATCH',
    );
    await expectCode(hsm.sign({ ref: 'no-such-key', algorithm: 'ECDSA_SHA_256', message }), 'KEY_NOT_FOUND');
  });
});
