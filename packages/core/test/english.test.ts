import { describe, expect, it } from 'vitest';
import { ALGORITHMS, counted, KEY_SPECS, KEY_USAGES, toJoseAlgorithm, withArticle } from '../src/index.js';

/**
 * How each word of the vocabulary is read aloud, written out by hand: the names that take "a". Every other
 * key spec, algorithm, usage and JOSE name takes "an" (read letter by letter from a vowel sound, "an
 * RSA_2048", or beginning with a vowel, "an ECDSA_SHA_256"). A new name fails here until it is put on the
 * right side.
 */
const TAKES_A = new Set([
  'SYMMETRIC_DEFAULT',
  'SIGN_VERIFY',
  'GENERATE_VERIFY_MAC',
  'KEY_AGREEMENT',
  'PS256',
  'PS384',
  'PS512',
]);

describe('English in messages', () => {
  it('puts "a" or "an" before every key spec, algorithm, usage and JOSE name as it is read aloud', () => {
    const jose = ALGORITHMS.flatMap((algorithm) => toJoseAlgorithm(algorithm) ?? []);
    expect(jose).toContain('RS256');
    const words = new Set<string>([...KEY_SPECS, ...ALGORITHMS, ...KEY_USAGES, ...jose]);
    for (const word of words)
      expect(withArticle(word), word).toBe(`${TAKES_A.has(word) ? 'a' : 'an'} ${word}`);
    expect([...TAKES_A].filter((word) => !words.has(word))).toEqual([]);
  });

  it('puts the article before ordinary words by their first letter', () => {
    expect(withArticle('encrypter')).toBe('an encrypter');
    expect(withArticle('object')).toBe('an object');
    expect(withArticle('signer')).toBe('a signer');
    expect(withArticle('mac')).toBe('a mac');
    expect(withArticle('usage')).toBe('a usage');
    // X.509 general name types, as the x509 package names them.
    expect(withArticle('RFC 822')).toBe('an RFC 822');
    expect(withArticle('x400Address')).toBe('an x400Address');
    expect(withArticle('DNS')).toBe('a DNS');
    expect(withArticle('URI')).toBe('a URI');
    expect(withArticle('IP address')).toBe('an IP address');
  });

  it('gives a count its noun in the right number', () => {
    expect(counted(1, 'record')).toBe('1 record');
    expect(counted(0, 'record')).toBe('0 records');
    expect(counted(32, 'record')).toBe('32 records');
    expect(counted(1, 'index', 'indices')).toBe('1 index');
    expect(counted(2, 'index', 'indices')).toBe('2 indices');
  });
});
