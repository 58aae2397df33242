import { createPublicKey, type JsonWebKey, type KeyObject, webcrypto } from 'node:crypto';
import { copyBytes } from '../bytes/copy-bytes.js';
import { invalidInput } from '../errors.js';
import type { KeySpec } from '../vocabulary/key-specs.js';
import { jwkToSpki, type PublicJwk, spkiToJwk } from './jwk.js';
import { jwkThumbprint } from './jwk-thumbprint.js';
import { derToPem, pemToDer } from './pem.js';
import { parseSpki } from './spki.js';
import { type PublicKeyAlgorithm, webCryptoImport } from './web-crypto-import.js';

/** A checked public key and its usual encodings. */
export interface PublicKey {
  /** The DER SubjectPublicKeyInfo (a fresh copy on each read). */
  readonly spki: Uint8Array;
  readonly keySpec: KeySpec;
  readonly family: 'RSA' | 'EC';
  /** The SPKI as a PEM `PUBLIC KEY` block. */
  pem(): string;
  /**
   * The public JWK (required members only; a fresh object on each call), typed as node:crypto's
   * `JsonWebKey` too, so it goes straight into `createPublicKey({ key, format: 'jwk' })`.
   */
  jwk(): PublicJwk & JsonWebKey;
  /**
   * The key as a node:crypto `KeyObject` (type `public`), for `crypto.verify`, `publicEncrypt` and
   * `diffieHellman`.
   *
   * @example
   * ```ts
   * verify('sha256', payload, { key: publicKey.keyObject(), dsaEncoding: 'ieee-p1363' }, signature);
   * ```
   */
  keyObject(): KeyObject;
  /**
   * The key as a WebCrypto `CryptoKey` for one keyswitch algorithm (AWS KMS names): RSA keys need it
   * (`RSASSA_PSS_SHA_256` gives an RSA-PSS/SHA-256 verify key, `RSAES_OAEP_SHA_256` an RSA-OAEP encrypt
   * key); EC keys default to ECDSA on their curve, or `ECDH`. The key is extractable (it is public).
   *
   * @example
   * ```ts
   * const key = await publicKey.cryptoKey('ECDSA_SHA_256');
   * await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, p1363Signature, payload);
   * ```
   * @throws INVALID_INPUT when the algorithm does not fit the key, or an RSA key is given none
   */
  cryptoKey(algorithm?: PublicKeyAlgorithm): Promise<webcrypto.CryptoKey>;
  /** The RFC 7638 SHA-256 thumbprint of the JWK, used as the key's `kid`. */
  thumbprint(): string;
  /** The key's stable id: the same as {@link PublicKey.thumbprint}. */
  readonly kid: string;
}

/**
 * A {@link PublicKey} for a DER SubjectPublicKeyInfo, checked by {@link parseSpki}. The object is frozen
 * and keeps its own copy of the bytes.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `der` is not a supported SubjectPublicKeyInfo.
 *
 * @example
 * ```ts
 * const key = publicKeyFromSpki(toSpki(pem));
 * key.keySpec; // 'RSA_3072'
 * const jwk = { ...key.jwk(), kid: key.thumbprint(), use: 'sig' };
 * createPublicKey({ key: key.jwk(), format: 'jwk' }).equals(key.keyObject()); // true
 * ```
 */
export function publicKeyFromSpki(der: Uint8Array): PublicKey {
  const { spki, keySpec, family } = parseSpki(der);
  const jwk = Object.freeze(spkiToJwk(spki));
  const kid = jwkThumbprint(jwk);
  const pem = derToPem(spki, 'PUBLIC KEY');
  return Object.freeze({
    get spki() {
      return copyBytes(spki);
    },
    keySpec,
    family,
    pem: () => pem,
    jwk: () => ({ ...jwk }),
    keyObject: () => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
    cryptoKey: async (algorithm?: PublicKeyAlgorithm) => {
      const { algorithm: params, usages } = webCryptoImport(keySpec, algorithm);
      return webcrypto.subtle.importKey('spki', copyBytes(spki), params, true, usages);
    },
    thumbprint: () => kid,
    kid,
  });
}

/**
 * The DER SubjectPublicKeyInfo of a public key given in any of the usual forms: SPKI DER bytes, a PEM
 * `PUBLIC KEY` block, a JWK object, or a JWK as JSON text. Whatever the form, the key is fully checked
 * (see {@link parseSpki} and {@link jwkToSpki}) and the result is canonical DER.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when the input is none of these forms or the key is
 * malformed or unsupported.
 *
 * @example
 * ```ts
 * toSpki(readFileSync('acs-signing.pub.pem', 'utf8'));
 * toSpki('{"kty":"EC","crv":"P-256","x":"…","y":"…"}');
 * toSpki(publicKey.export({ format: 'der', type: 'spki' }));
 * ```
 */
export function toSpki(input: Uint8Array | string | PublicJwk): Uint8Array {
  if (input instanceof Uint8Array) return parseSpki(input).spki;
  if (typeof input === 'string') {
    const text = input.trim();
    if (text.startsWith('-----BEGIN')) return parseSpki(pemToDer(text, 'PUBLIC KEY')).spki;
    if (text.startsWith('{')) return jwkToSpki(parseJson(text));
    throw invalidInput('public key text is neither a PEM "PUBLIC KEY" block nor a JSON JWK');
  }
  if (typeof input === 'object' && input !== null) return jwkToSpki(input);
  throw invalidInput('public key must be SPKI DER bytes, PEM text or a JWK');
}

function parseJson(text: string): PublicJwk {
  try {
    return JSON.parse(text) as PublicJwk;
  } catch {
    // The parser's message quotes the text, which may hold private key members: do not pass it on.
    throw invalidInput('public key JWK is not valid JSON');
  }
}
