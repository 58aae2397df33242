import { constants, createPublicKey, type KeyObject, publicEncrypt } from 'node:crypto';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from './support/errors.js';

const plaintext = new TextEncoder().encode('4111111111111111');
const context = { tenant: 't1', purpose: 'pan' };

let hsm: SoftHsm;
let rsa2048: KeyObject;
let rsa4096: KeyObject;

beforeAll(async () => {
  hsm = await SoftHsm.open();
  await Promise.all([
    hsm.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', label: 'oaep-2048' }),
    hsm.createKey({ spec: 'RSA_4096', usage: 'ENCRYPT_DECRYPT', label: 'oaep-4096' }),
    hsm.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: 'kek' }),
    hsm.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: 'other-kek' }),
  ]);
  const spki = async (ref: string) =>
    createPublicKey({ key: Buffer.from((await hsm.getPublicKey(ref)).spki), format: 'der', type: 'spki' });
  rsa2048 = await spki('oaep-2048');
  rsa4096 = await spki('oaep-4096');
});

afterAll(() => hsm.close());

describe('RSAES-OAEP', () => {
  it.each([
    ['RSAES_OAEP_SHA_1', 'sha1', 'oaep-2048'],
    ['RSAES_OAEP_SHA_256', 'sha256', 'oaep-2048'],
    ['RSAES_OAEP_SHA_1', 'sha1', 'oaep-4096'],
    ['RSAES_OAEP_SHA_256', 'sha256', 'oaep-4096'],
  ] as const)(
    '%s (%s, %s): node:crypto ciphertexts decrypt, and round trips work',
    async (algorithm, oaepHash, ref) => {
      const key = ref === 'oaep-2048' ? rsa2048 : rsa4096;
      const ciphertext = publicEncrypt(
        { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
        plaintext,
      );
      expect(await hsm.decrypt({ ref, algorithm, ciphertext })).toEqual(plaintext);
      const own = await hsm.encrypt({ ref, algorithm, plaintext });
      expect(own.length).toBe(key.asymmetricKeyDetails!.modulusLength! / 8);
      expect(await hsm.decrypt({ ref, algorithm, ciphertext: own })).toEqual(plaintext);
    },
  );

  it('gives INVALID_CIPHERTEXT for a changed ciphertext, the other hash, or the wrong length', async () => {
    const ciphertext = publicEncrypt(
      { key: rsa2048, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      plaintext,
    );
    const tampered = Uint8Array.from(ciphertext);
    tampered[100]! ^= 0x40;
    await expectCode(
      hsm.decrypt({ ref: 'oaep-2048', algorithm: 'RSAES_OAEP_SHA_256', ciphertext: tampered }),
      'INVALID_CIPHERTEXT',
    );
    await expectCode(
      hsm.decrypt({ ref: 'oaep-2048', algorithm: 'RSAES_OAEP_SHA_1', ciphertext }),
      'INVALID_CIPHERTEXT',
    );
    await expectCode(
      hsm.decrypt({ ref: 'oaep-2048', algorithm: 'RSAES_OAEP_SHA_256', ciphertext: ciphertext.subarray(1) }),
      'INVALID_CIPHERTEXT',
    );
    await expectCode(
      hsm.decrypt({ ref: 'oaep-4096', algorithm: 'RSAES_OAEP_SHA_256', ciphertext }),
      'INVALID_CIPHERTEXT',
    );
  });

  it('refuses plaintext over the OAEP limit and an encryption context', async () => {
    await expectCode(
      hsm.encrypt({
        ref: 'oaep-2048',
        algorithm: 'RSAES_OAEP_SHA_256',
        plaintext: new Uint8Array(256 - 66 + 1),
      }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.encrypt({ ref: 'oaep-2048', algorithm: 'RSAES_OAEP_SHA_256', plaintext, context }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.encrypt({ ref: 'oaep-2048', algorithm: 'SYMMETRIC_DEFAULT', plaintext }),
      'USAGE_MISMATCH',
    );
  });
});

describe('SYMMETRIC_DEFAULT', () => {
  it('round-trips with the same context, in any key order', async () => {
    const ciphertext = await hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext, context });
    // magic/version, key id (16), IV (12), body, tag (16)
    expect(ciphertext.length).toBe(1 + 16 + 12 + plaintext.length + 16);
    expect(ciphertext[0]).toBe(0x01);
    const reordered = { purpose: 'pan', tenant: 't1' };
    expect(
      await hsm.decrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', ciphertext, context: reordered }),
    ).toEqual(plaintext);
    const again = await hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext, context });
    expect(Buffer.from(again).equals(Buffer.from(ciphertext))).toBe(false); // a fresh IV each time
    const noContext = await hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext });
    expect(await hsm.decrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', ciphertext: noContext })).toEqual(
      plaintext,
    );
  });

  it('records the key id in the blob header', async () => {
    const { keyId } = await hsm.describeKey('kek');
    const ciphertext = await hsm.encrypt({ ref: keyId, algorithm: 'SYMMETRIC_DEFAULT', plaintext });
    expect(Buffer.from(ciphertext.subarray(1, 17)).toString('hex')).toBe(keyId.replaceAll('-', ''));
  });

  it('gives INVALID_CIPHERTEXT for another context, a missing context, or another key', async () => {
    const ciphertext = await hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext, context });
    for (const other of [{ tenant: 't2', purpose: 'pan' }, { tenant: 't1' }, {}, undefined]) {
      await expectCode(
        hsm.decrypt({
          ref: 'kek',
          algorithm: 'SYMMETRIC_DEFAULT',
          ciphertext,
          ...(other ? { context: other } : {}),
        }),
        'INVALID_CIPHERTEXT',
      );
    }
    await expectCode(
      hsm.decrypt({ ref: 'other-kek', algorithm: 'SYMMETRIC_DEFAULT', ciphertext, context }),
      'INVALID_CIPHERTEXT',
    );
  });

  it('gives INVALID_CIPHERTEXT for a changed byte in every region: header, IV, body, tag', async () => {
    const ciphertext = await hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext, context });
    const regions = {
      version: [0],
      'key id': [1, 8, 16],
      iv: [17, 22, 28],
      body: [29, 29 + Math.floor(plaintext.length / 2), 29 + plaintext.length - 1],
      tag: [ciphertext.length - 16, ciphertext.length - 1],
    };
    for (const [region, offsets] of Object.entries(regions)) {
      for (const offset of offsets) {
        const tampered = Uint8Array.from(ciphertext);
        tampered[offset]! ^= 0x01;
        const error = await expectCode(
          hsm.decrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', ciphertext: tampered, context }),
          'INVALID_CIPHERTEXT',
        );
        expect(error.message, `${region} byte ${offset}`).not.toContain('4111');
      }
    }
    await expectCode(
      hsm.decrypt({
        ref: 'kek',
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext: ciphertext.subarray(0, 40),
        context,
      }),
      'INVALID_CIPHERTEXT',
    );
    await expectCode(
      hsm.decrypt({
        ref: 'kek',
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext: ciphertext.subarray(0, ciphertext.length - 1),
        context,
      }),
      'INVALID_CIPHERTEXT',
    );
  });

  it('takes up to 4,096 bytes of plaintext', async () => {
    const big = new Uint8Array(4096).fill(7);
    const ciphertext = await hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext: big });
    expect(await hsm.decrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', ciphertext })).toEqual(big);
    await expectCode(
      hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext: new Uint8Array(4097) }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.encrypt({ ref: 'kek', algorithm: 'SYMMETRIC_DEFAULT', plaintext: new Uint8Array(0) }),
      'INVALID_INPUT',
    );
  });
});

describe('data keys', () => {
  it.each(['AES_256', 'AES_128'] as const)(
    '%s: the blob decrypts to the plaintext key with the same context',
    async (dataKeySpec) => {
      const dataKey = await hsm.generateDataKey({ ref: 'kek', dataKeySpec, context });
      expect(dataKey.plaintext!.length).toBe(dataKeySpec === 'AES_256' ? 32 : 16);
      expect(dataKey.ref).toBe('kek');
      const unwrapped = await hsm.decrypt({
        ref: 'kek',
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext: dataKey.ciphertextBlob,
        context,
      });
      expect(unwrapped).toEqual(dataKey.plaintext);
      await expectCode(
        hsm.decrypt({
          ref: 'kek',
          algorithm: 'SYMMETRIC_DEFAULT',
          ciphertext: dataKey.ciphertextBlob,
          context: { tenant: 't2' },
        }),
        'INVALID_CIPHERTEXT',
      );
    },
  );

  it('withPlaintext: false returns only the wrapped key; RSA keys cannot make data keys', async () => {
    const dataKey = await hsm.generateDataKey({ ref: 'kek', withPlaintext: false });
    expect(dataKey.plaintext).toBeUndefined();
    const unwrapped = await hsm.decrypt({
      ref: 'kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: dataKey.ciphertextBlob,
    });
    expect(unwrapped.length).toBe(32);
    await expectCode(hsm.generateDataKey({ ref: 'oaep-2048' }), 'USAGE_MISMATCH');
  });
});
