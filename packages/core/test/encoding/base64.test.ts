import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, base64UrlDecode, bytesToBigInt } from '../../src/encoding/index.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';

describe('base64 (standard, padded)', () => {
  it('matches Buffer for every length 0..64, both ways', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = randomBytes(length);
      const text = base64Encode(bytes);
      expect(text).toBe(bytes.toString('base64'));
      const decoded = base64Decode(text);
      expect(Buffer.isBuffer(decoded)).toBe(false);
      expect(Buffer.from(decoded).equals(bytes)).toBe(true);
    }
  });

  it.each([
    ['base64url characters', '-_8='],
    ['missing padding', 'AQ'],
    ['too much padding', 'AQ==='],
    ['whitespace', 'AQAB AQAB'],
    ['non-zero unused bits', 'AR=='],
  ])('rejects %s, naming what the text is', (_, text) => {
    expectInvalidInput(
      () => base64Decode(text, 'x5c certificate 0'),
      'x5c certificate 0 is not valid base64',
    );
  });

  it('names the text in base64url errors too, and refuses what is not a string or bytes', () => {
    expectInvalidInput(
      () => base64UrlDecode('AQ==', 'JWS signature'),
      'JWS signature is not valid base64url',
    );
    expectInvalidInput(() => base64Decode(42 as unknown as string), 'base64 input is not valid base64');
    expectInvalidInput(() => base64Encode('AQAB' as unknown as Uint8Array), 'must be a Uint8Array');
  });
});

describe('bytesToBigInt', () => {
  it('reads unsigned big-endian integers as BigInt does from hex', () => {
    expect(bytesToBigInt(new Uint8Array(0))).toBe(0n);
    expect(bytesToBigInt(new Uint8Array([0, 0, 1, 0]))).toBe(256n);
    const bytes = randomBytes(66);
    expect(bytesToBigInt(bytes)).toBe(BigInt(`0x${bytes.toString('hex')}`));
    // A view reads its own bytes only.
    expect(bytesToBigInt(new Uint8Array([9, 1, 2, 9]).subarray(1, 3))).toBe(0x0102n);
  });
});
