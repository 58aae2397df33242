import type { webcrypto } from 'node:crypto';
import { withArticle } from '../english/with-article.js';
import { invalidInput } from '../errors.js';
import { type Algorithm, algorithmInfo } from '../vocabulary/algorithms.js';
import type { KeySpec } from '../vocabulary/key-specs.js';
import { keySpecInfo } from '../vocabulary/key-specs.js';

/** The algorithms a public key can be imported into WebCrypto for. */
export type PublicKeyAlgorithm = Exclude<
  Algorithm,
  'SYMMETRIC_DEFAULT' | 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512'
>;

/** What `crypto.subtle.importKey('spki', …)` needs for a public key used with one keyswitch algorithm. */
export interface WebCryptoImport {
  readonly algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  readonly usages: webcrypto.KeyUsage[];
}

const WEB_HASH = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

/**
 * The WebCrypto import parameters of a public key of `spec` for `algorithm` (a keyswitch algorithm, in
 * AWS KMS names). An EC key without an algorithm is an ECDSA key with its curve's usual hash; an RSA key
 * needs the algorithm, since its WebCrypto key is bound to one scheme and hash.
 *
 * @example
 * ```ts
 * webCryptoImport('RSA_2048', 'RSASSA_PSS_SHA_256');
 * // { algorithm: { name: 'RSA-PSS', hash: 'SHA-256' }, usages: ['verify'] }
 * ```
 * @throws INVALID_INPUT when the algorithm does not fit the key spec, or an RSA key has none
 */
export function webCryptoImport(spec: KeySpec, algorithm?: PublicKeyAlgorithm): WebCryptoImport {
  const key = keySpecInfo(spec);
  if (key.family === 'EC') {
    const namedCurve = key.curve as string;
    if (algorithm === 'ECDH') return { algorithm: { name: 'ECDH', namedCurve }, usages: [] };
    if (algorithm === undefined || algorithmInfo(algorithm).family === 'ECDSA')
      return { algorithm: { name: 'ECDSA', namedCurve }, usages: ['verify'] };
  }
  if (key.family === 'RSA' && algorithm !== undefined) {
    const { family, hash } = algorithmInfo(algorithm);
    const webHash = hash === undefined ? undefined : WEB_HASH[hash];
    if (webHash !== undefined) {
      if (family === 'RSA_PSS') return { algorithm: { name: 'RSA-PSS', hash: webHash }, usages: ['verify'] };
      if (family === 'RSA_PKCS1')
        return { algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: webHash }, usages: ['verify'] };
      if (family === 'RSA_OAEP')
        return { algorithm: { name: 'RSA-OAEP', hash: webHash }, usages: ['encrypt'] };
    }
  }
  throw invalidInput(
    algorithm === undefined
      ? `${withArticle(spec)} public key needs an algorithm to become a WebCrypto key (such as RSASSA_PSS_SHA_256)`
      : `algorithm ${algorithm} does not fit ${withArticle(spec)} public key`,
  );
}
