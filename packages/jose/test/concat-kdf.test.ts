import { createHash, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatKdf, deriveEmvSessionKey } from '../src/index.js';
import { bytes, rejection } from './support/keys.js';

// RFC 7518 Appendix C: Alice's ephemeral key and Bob's static key.
const ALICE = {
  kty: 'EC',
  crv: 'P-256',
  x: 'gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0',
  y: 'SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps',
  d: '0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo',
};
const BOB = {
  kty: 'EC',
  crv: 'P-256',
  x: 'weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ',
  y: 'e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck',
};
// Z as printed in RFC 7518 Appendix C.
const Z = new Uint8Array([
  158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106,
  72, 246, 218, 167, 121, 140, 254, 144, 196,
]);

describe('concatKdf', () => {
  it('reproduces RFC 7518 Appendix C (ECDH-ES, A128GCM, apu "Alice", apv "Bob")', () => {
    const z = diffieHellman({
      privateKey: createPrivateKey({ key: ALICE, format: 'jwk' }),
      publicKey: createPublicKey({ key: BOB, format: 'jwk' }),
    });
    expect(new Uint8Array(z)).toEqual(Z);
    const key = concatKdf({
      sharedSecret: Z,
      keyBits: 128,
      algorithmId: 'A128GCM',
      partyUInfo: bytes('Alice'),
      partyVInfo: bytes('Bob'),
    });
    expect(Buffer.from(key).toString('base64url')).toBe('VqqN6vgjbSBcIijNcacQGg');
  });

  it('runs more than one round for keys longer than the hash', () => {
    const otherInfo = Buffer.concat([
      Buffer.from('0000000d', 'hex'),
      Buffer.from('A256CBC-HS512'),
      Buffer.from('0000000000000000', 'hex'),
      Buffer.from('00000200', 'hex'),
    ]);
    const round = (n: number) =>
      createHash('sha256')
        .update(Buffer.from([0, 0, 0, n]))
        .update(Z)
        .update(otherInfo)
        .digest();
    const expected = Buffer.concat([round(1), round(2)]);
    expect(Buffer.from(concatKdf({ sharedSecret: Z, keyBits: 512, algorithmId: 'A256CBC-HS512' }))).toEqual(
      expected,
    );
  });

  it('refuses an empty secret and odd key lengths', async () => {
    expect(
      (await rejection(() => concatKdf({ sharedSecret: new Uint8Array(0), keyBits: 128, algorithmId: '' })))
        .code,
    ).toBe('INVALID_INPUT');
    expect(
      (await rejection(() => concatKdf({ sharedSecret: Z, keyBits: 100, algorithmId: '' }))).message,
    ).toMatch(/multiple of 8/);
  });
});

describe('deriveEmvSessionKey (the EMV 3-D Secure Concat KDF variant)', () => {
  it('hashes counter, Z, empty AlgorithmID, empty PartyUInfo, the SDK reference number, and 256', () => {
    const reference = '3DS_LOA_SDK_ABCD_020100_00001';
    // Written out byte by byte, independently of concatKdf.
    const otherInfo = Buffer.concat([
      Buffer.from('00000000', 'hex'), // AlgorithmID: length 0
      Buffer.from('00000000', 'hex'), // PartyUInfo: length 0
      Buffer.from([0, 0, 0, reference.length]),
      Buffer.from(reference), // PartyVInfo: the SDK reference number
      Buffer.from('00000100', 'hex'), // SuppPubInfo: 256 bits
    ]);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('00000001', 'hex'), Z, otherInfo]))
      .digest('hex');
    const key = deriveEmvSessionKey(Z, reference);
    expect(Buffer.from(key).toString('hex')).toBe(expected);
    expect(expected).toBe('4f8389c778ac17e94fbea9c8b99bcc42eb66ba75dfb1db56bb4494deee95cb8c');
  });

  it('needs a reference number', async () => {
    expect((await rejection(() => deriveEmvSessionKey(Z, ''))).code).toBe('INVALID_INPUT');
  });
});
