import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64UrlDecode, base64UrlEncode } from '../../src/encoding/index.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';

describe('base64url', () => {
  it('matches Buffer for every length 0..64, both ways', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = randomBytes(length);
      const text = base64UrlEncode(bytes);
      expect(text).toBe(bytes.toString('base64url'));
      const decoded = base64UrlDecode(text);
      expect(decoded).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(decoded)).toBe(false);
      expect(Buffer.from(decoded).equals(bytes)).toBe(true);
    }
  });

  it('uses - and _ and no padding', () => {
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(base64UrlDecode('-_8')).toEqual(new Uint8Array([0xfb, 0xff]));
  });

  it('encodes a view into a larger buffer by its own bytes only', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5]);
    expect(base64UrlEncode(backing.subarray(1, 3))).toBe(Buffer.from([2, 3]).toString('base64url'));
  });

  it.each([
    ['padding', 'AQ=='],
    ['base64 characters', '+/8'],
    ['whitespace', 'AQ AB'],
    ['a newline', 'AQAB\n'],
    ['an impossible length', 'AQABA'],
    ['non-zero unused bits', 'AR'],
    ['non-ASCII', 'AQ€B'],
  ])('rejects %s', (_, text) => {
    expectInvalidInput(() => base64UrlDecode(text), 'base64url input is not valid base64url');
  });

  it('rejects non-string and non-byte arguments', () => {
    expectInvalidInput(() => base64UrlDecode(42 as unknown as string), 'not valid base64url');
    expectInvalidInput(() => base64UrlEncode('AQAB' as unknown as Uint8Array), 'must be a Uint8Array');
  });
});
