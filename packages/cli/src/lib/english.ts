/**
 * "a" or "an" before a word as it is read aloud: key specs and algorithm names are read letter by letter
 * ("an RSA_2048 key", "an HMAC_256 key", "an ECC_NIST_P256 key") or as words ("a SYMMETRIC_DEFAULT key").
 *
 * @example
 * ```ts
 * withArticle('RSA_2048'); // 'an RSA_2048'
 * withArticle('SYMMETRIC_DEFAULT'); // 'a SYMMETRIC_DEFAULT'
 * ```
 */
export function withArticle(word: string): string {
  return `${/^(?:[AEIO]|RSA|HMAC|ECC|ECDSA|ECDH)/i.test(word) ? 'an' : 'a'} ${word}`;
}

/**
 * A count with its noun in the right number.
 *
 * @example
 * ```ts
 * counted(1, 'record'); // '1 record'
 * counted(3, 'record'); // '3 records'
 * ```
 */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
