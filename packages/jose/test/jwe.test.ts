import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Keyswitch, KeyswitchError } from '@keyswitch/core';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ContentEncryption, decryptJwe, encryptJwe, type JweKeyManagement } from '../src/index.js';
import {
  bytes,
  hsmAgreement,
  hsmDecrypter,
  openSharedKeys,
  rejection,
  type SharedKeys,
  text,
} from './support/keys.js';

let keys: SharedKeys;
beforeAll(async () => {
  keys = await openSharedKeys();
});
afterAll(() => keys.hsm.close());

const ENCS: readonly ContentEncryption[] = [
  'A128CBC-HS256',
  'A192CBC-HS384',
  'A256CBC-HS512',
  'A128GCM',
  'A192GCM',
  'A256GCM',
];
const ALGS: readonly JweKeyManagement[] = ['RSA-OAEP-256', 'RSA-OAEP', 'ECDH-ES'];
const CASES = ALGS.flatMap((alg) => ENCS.map((enc) => [alg, enc] as const));

const deviceData = JSON.stringify({ DV: '1.0', DD: { C001: 'Android', C002: 'Pixel 8' }, DPNA: {}, SW: [] });

function backendKey(alg: JweKeyManagement) {
  if (alg === 'ECDH-ES') return hsmAgreement(keys.hsm, 'ecdh');
  return hsmDecrypter(keys.hsm, 'rsa-enc', alg === 'RSA-OAEP' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256');
}

function softwarePair(alg: JweKeyManagement) {
  return alg === 'ECDH-ES' ? keys.ecdh : keys.rsa;
}

describe('decryptJwe', () => {
  it.each(CASES)('%s with %s: decrypts in the backend what the jose package encrypted', async (alg, enc) => {
    const jwe = await new jose.CompactEncrypt(bytes(deviceData))
      .setProtectedHeader({ alg, enc, kid: 'ds-2025' })
      .encrypt(softwarePair(alg).publicKey);
    const { plaintext, protectedHeader } = await decryptJwe(jwe, backendKey(alg));
    expect(text(plaintext)).toBe(deviceData);
    expect(protectedHeader).toMatchObject({ alg, enc, kid: 'ds-2025' });
  });

  it('ECDH-ES with apu and apv, both ways', async () => {
    const apu = bytes('sdk-app-id');
    const apv = bytes('ds-ref');
    const fromJose = await new jose.CompactEncrypt(bytes('hi'))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A128CBC-HS256' })
      .setKeyManagementParameters({ apu, apv })
      .encrypt(keys.ecdh.publicKey);
    expect(text((await decryptJwe(fromJose, hsmAgreement(keys.hsm, 'ecdh'))).plaintext)).toBe('hi');
    const ours = await encryptJwe('hi', keys.ecdh.publicKey, { enc: 'A128GCM', apu, apv });
    const { plaintext, protectedHeader } = await jose.compactDecrypt(ours, keys.ecdh.privateKey);
    expect(text(plaintext)).toBe('hi');
    expect(protectedHeader.apu).toBe(Buffer.from(apu).toString('base64url'));
  });

  it('works with keyswitch handles from configuration (the DS decrypting SDK device data)', async () => {
    const ks = await Keyswitch.fromConfig({
      environment: 'test',
      providers: { dev: { type: 'soft-hsm' } },
      keys: {
        'ds-decrypt': { provider: 'dev', ref: 'rsa-enc', spec: 'RSA_2048', algorithm: 'RSAES_OAEP_SHA_256' },
        'ds-ecdh': { provider: 'dev', ref: 'ecdh', spec: 'ECC_NIST_P256', algorithm: 'ECDH' },
      },
    });
    try {
      const hsm = await ks.provider('dev');
      const pem = (key: { privateKey: { export(o: object): unknown } }) =>
        key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      const softHsm = hsm as unknown as typeof keys.hsm;
      await softHsm.importKey({ label: 'rsa-enc', usage: 'ENCRYPT_DECRYPT', pem: pem(keys.rsa) });
      await softHsm.importKey({ label: 'ecdh', usage: 'KEY_AGREEMENT', pem: pem(keys.ecdh) });

      // What a 3DS SDK does: encrypt device data to the DS public key.
      const sdkEncData = await encryptJwe(deviceData, ks.encrypter('ds-decrypt'), { enc: 'A128CBC-HS256' });
      expect(jose.decodeProtectedHeader(sdkEncData)).toEqual({ alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256' });
      expect(text((await decryptJwe(sdkEncData, ks.decrypter('ds-decrypt'))).plaintext)).toBe(deviceData);

      const ecdh = await encryptJwe(deviceData, ks.keyAgreement('ds-ecdh'), { enc: 'A128GCM', kid: 'ds-ec' });
      expect(jose.decodeProtectedHeader(ecdh)).toMatchObject({
        alg: 'ECDH-ES',
        enc: 'A128GCM',
        kid: 'ds-ec',
      });
      expect(text((await decryptJwe(ecdh, ks.keyAgreement('ds-ecdh'))).plaintext)).toBe(deviceData);
    } finally {
      await ks.close();
    }
  });

  it('answers INVALID_CIPHERTEXT for anything tampered, without the plaintext in the error', async () => {
    const secret = 'PAN 4111111111111111';
    const jwe = await encryptJwe(secret, keys.rsa.publicKey, { enc: 'A128CBC-HS256' });
    const parts = jwe.split('.');
    const flip = (index: number) => {
      const segment = Buffer.from(parts[index]!, 'base64url');
      segment[0]! ^= 0x01;
      return parts.map((part, i) => (i === index ? segment.toString('base64url') : part)).join('.');
    };
    const log = vi.spyOn(console, 'log');
    const warn = vi.spyOn(console, 'warn');
    const errorLog = vi.spyOn(console, 'error');
    const key = backendKey('RSA-OAEP-256');
    for (const index of [1, 2, 3, 4]) {
      const error = await rejection(decryptJwe(flip(index), key));
      expect(error.code).toBe('INVALID_CIPHERTEXT');
      expect(error.message).not.toContain('4111');
    }
    // An altered header changes the AAD.
    const header = Buffer.from(
      JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256', kid: 'x' }),
    ).toString('base64url');
    expect((await rejection(decryptJwe([header, ...parts.slice(1)].join('.'), key))).code).toBe(
      'INVALID_CIPHERTEXT',
    );
    // An encrypted key that does not decrypt (made for another key) fails like tampering, indistinguishably.
    const garbage = new Uint8Array(randomBytes(256));
    garbage[0] = 0;
    const forOther = [parts[0], Buffer.from(garbage).toString('base64url'), ...parts.slice(2)].join('.');
    expect((await rejection(decryptJwe(forOther, key))).code).toBe('INVALID_CIPHERTEXT');
    expect(log).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
    expect(errorLog).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });

  it('answers INVALID_CIPHERTEXT for every failure to decrypt: c >= n, INTERNAL from a token, bad IV or tag', async () => {
    const jwe = await encryptJwe('x', keys.rsa.publicKey, { enc: 'A256GCM' });
    const parts = jwe.split('.');
    const key = backendKey('RSA-OAEP-256');
    const modulus = Buffer.from(keys.rsa.publicKey.export({ format: 'jwk' }).n!, 'base64url');
    // An encrypted key equal to the modulus, and all ones: both at or above n.
    for (const big of [modulus, Buffer.alloc(modulus.length, 0xff)]) {
      const tooBig = [parts[0], big.toString('base64url'), ...parts.slice(2)].join('.');
      expect((await rejection(decryptJwe(tooBig, key))).code).toBe('INVALID_CIPHERTEXT');
    }
    // What NSS softokn answers for c >= n: INTERNAL from the backend, still INVALID_CIPHERTEXT here.
    const internal = {
      algorithm: 'RSAES_OAEP_SHA_256' as const,
      decrypt: async () => {
        throw new KeyswitchError('INTERNAL', 'CKR_GENERAL_ERROR');
      },
    };
    expect((await rejection(decryptJwe(jwe, internal))).code).toBe('INVALID_CIPHERTEXT');
    // The IV or tag of the wrong size, a part that is not base64url.
    const swap = (index: number, value: string) =>
      parts.map((part, i) => (i === index ? value : part)).join('.');
    // ...and an RSA-OAEP JWE with its encrypted key removed.
    for (const broken of [swap(2, 'AAAA'), swap(4, 'AAAA'), swap(3, '!!'), swap(1, '***'), swap(1, '')]) {
      expect((await rejection(decryptJwe(broken, key))).code).toBe('INVALID_CIPHERTEXT');
    }
  });

  it('refuses an alg the key does not do, and malformed headers', async () => {
    const oaep1 = await encryptJwe('x', keys.rsa.publicKey, { alg: 'RSA-OAEP', enc: 'A128GCM' });
    const error = await rejection(decryptJwe(oaep1, backendKey('RSA-OAEP-256')));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/"RSA-OAEP" does not match the key, which decrypts RSA-OAEP-256/);
    expect((await rejection(decryptJwe(oaep1, backendKey('ECDH-ES')))).message).toMatch(/ECDH-ES can/);

    const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const tail = oaep1.split('.').slice(1).join('.');
    const zip = `${segment({ alg: 'RSA-OAEP', enc: 'A128GCM', zip: 'DEF' })}.${tail}`;
    expect((await rejection(decryptJwe(zip, backendKey('RSA-OAEP')))).message).toMatch(/zip/);
    const unknownEnc = `${segment({ alg: 'RSA-OAEP', enc: 'A128CTR' })}.${tail}`;
    expect((await rejection(decryptJwe(unknownEnc, backendKey('RSA-OAEP')))).message).toMatch(
      /not supported/,
    );
    await expect(
      decryptJwe(oaep1, backendKey('RSA-OAEP'), { contentEncryptions: ['A128CBC-HS256'] }),
    ).rejects.toThrow(/not accepted/);
    expect((await rejection(decryptJwe('a.b.c', backendKey('RSA-OAEP')))).message).toMatch(/5 parts/);

    const ecdh = await encryptJwe('x', keys.ecdh.publicKey, { enc: 'A128GCM' });
    const [ecHeader, , ...rest] = ecdh.split('.') as [string, string, ...string[]];
    const parsed = JSON.parse(Buffer.from(ecHeader, 'base64url').toString());
    const withKey = [ecHeader, 'AAAA', ...rest].join('.');
    const withKeyError = await rejection(decryptJwe(withKey, backendKey('ECDH-ES')));
    expect(withKeyError.message).toMatch(/empty encrypted key/);
    expect(withKeyError.code).toBe('INVALID_CIPHERTEXT');
    const privateEpk = `${segment({ ...parsed, epk: { ...parsed.epk, d: 'AAAA' } })}..${rest.join('.')}`;
    expect((await rejection(decryptJwe(privateEpk, backendKey('ECDH-ES')))).message).toMatch(/epk/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const wrongCurve = `${segment({ ...parsed, epk: p384 })}..${rest.join('.')}`;
    expect((await rejection(decryptJwe(wrongCurve, backendKey('ECDH-ES')))).code).toBe('INVALID_INPUT');
  });

  it('lets backend failures through rather than hiding them as bad ciphertext', async () => {
    await keys.hsm.importKey({
      label: 'rsa-enc-2',
      usage: 'ENCRYPT_DECRYPT',
      pem: keys.rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    });
    await keys.hsm.disableKey('rsa-enc-2');
    const jwe = await encryptJwe('x', keys.rsa.publicKey, { enc: 'A256GCM' });
    const error = await rejection(decryptJwe(jwe, hsmDecrypter(keys.hsm, 'rsa-enc-2', 'RSAES_OAEP_SHA_256')));
    expect(error.code).toBe('KEY_DISABLED');
  });
});

describe('encryptJwe', () => {
  it.each(CASES)('%s with %s: the jose package decrypts it', async (alg, enc) => {
    const jwe = await encryptJwe(deviceData, softwarePair(alg).publicKey, { alg, enc, kid: 'ds-2025' });
    const { plaintext, protectedHeader } = await jose.compactDecrypt(jwe, softwarePair(alg).privateKey);
    expect(text(plaintext)).toBe(deviceData);
    expect(protectedHeader).toMatchObject({ alg, enc, kid: 'ds-2025' });
    if (alg === 'ECDH-ES') {
      const epk = protectedHeader.epk as { x: string; y: string };
      expect(Buffer.from(epk.x, 'base64url')).toHaveLength(32);
      expect(Buffer.from(epk.y, 'base64url')).toHaveLength(32);
    }
  });

  it('refuses algorithms that do not fit the recipient key', async () => {
    expect(
      (await rejection(encryptJwe('x', keys.ecdh.publicKey, { alg: 'RSA-OAEP-256', enc: 'A128GCM' })))
        .message,
    ).toMatch(/needs an RSA recipient key/);
    expect(
      (await rejection(encryptJwe('x', keys.rsa.publicKey, { alg: 'ECDH-ES', enc: 'A128GCM' }))).message,
    ).toMatch(/needs an EC recipient key/);
    expect(
      (await rejection(encryptJwe('x', keys.rsa.publicKey, { alg: 'dir' as 'ECDH-ES', enc: 'A128GCM' })))
        .message,
    ).toMatch(/not supported/);
    expect(
      (await rejection(encryptJwe('x', keys.rsa.publicKey, { enc: 'A128GCM', header: { epk: {} } }))).message,
    ).toMatch(/"epk"/);
  });
});
