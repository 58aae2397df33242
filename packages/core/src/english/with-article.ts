/**
 * Names keyswitch reads letter by letter although they begin with a consonant letter whose name begins
 * with a vowel sound: "an RSA_2048 key", "an HMAC_256 key", "an HS256 JWS", "an RS256 signature", "an RFC 822
 * name", "an x400Address name".
 */
const SPELLED_WITH_VOWEL_SOUND = /^(?:RSA|HMAC|HS\d|RS\d|SM\d|[Xx]\d|RFC)/;

/**
 * The word with "a" or "an" before it, as it is read aloud, for keyswitch's vocabulary (key specs,
 * algorithm names, key usages, JOSE algorithm names) and ordinary lower-case words. A word that begins
 * with the letter A, E, I or O takes "an" ("an ECC_NIST_P256 key", "an ENCRYPT_DECRYPT key", "an
 * encrypter"), as do the names read letter by letter from a vowel sound ("an RSA_2048 key", "an HMAC_256
 * key"); anything else takes "a" ("a SYMMETRIC_DEFAULT key", "a SIGN_VERIFY key", "a PS256 signature").
 * Words beginning with U take "a" ("a usage"), as the words in keyswitch's messages do.
 *
 * Every error message that puts an article before a name it was given uses this, so the rule is in one
 * place.
 *
 * @param word - The word the article goes before (a key spec, an algorithm, a usage, a noun).
 * @returns The article, a space, and the word.
 * @example
 * ```ts
 * import { withArticle } from '@keyswitch/core';
 *
 * withArticle('RSA_2048'); // 'an RSA_2048'
 * withArticle('SYMMETRIC_DEFAULT'); // 'a SYMMETRIC_DEFAULT'
 * `--usage for ${withArticle(spec)} key must be one of ...`;
 * ```
 */
export function withArticle(word: string): string {
  const an = /^[aeio]/i.test(word) || SPELLED_WITH_VOWEL_SOUND.test(word);
  return `${an ? 'an' : 'a'} ${word}`;
}
