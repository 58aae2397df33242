import { describe, expect, it } from 'vitest';
import { decodeUtf8Strict, utf8 } from '../src/index.js';

describe('decodeUtf8Strict', () => {
  it('decodes what utf8() encodes, and a leading byte-order mark stays in the text', () => {
    for (const text of ['', 'keyswitch', 'ünïcødé ✓ 𝄞', '\uFEFFwith a BOM']) {
      expect(decodeUtf8Strict(utf8(text))).toBe(text);
    }
    expect(decodeUtf8Strict(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe('\uFEFFA');
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('is undefined for %s, where a lenient decoder would answer U+FFFD', (_, bytes) => {
    const input = new Uint8Array(bytes);
    expect(new TextDecoder().decode(input)).toContain('\uFFFD');
    expect(decodeUtf8Strict(input)).toBeUndefined();
  });
});
