import { randomBytes } from 'node:crypto';
import {
  base64UrlDecode,
  type EcPublicJwk,
  invalidInput,
  isKeyswitchError,
  jwkToSpki,
  utf8,
  withArticle,
} from '@keyswitch/core';
import { concatKdf } from '../kdf/concat-kdf.js';
import { decodeProtectedHeader, optionalString, requiredString, splitCompact } from '../lib/compact.js';
import {
  CONTENT_ENCRYPTIONS,
  type ContentEncryption,
  contentEncryptionInfo,
  contentKeyBytes,
  decryptContent,
} from '../lib/content-encryption.js';
import { invalidCiphertext } from '../lib/errors.js';
import type { JsonObject } from '../lib/json.js';
import type { EcdhKeyAgreement, JweDecryptionKey, RsaOaepDecrypter } from './jwe-keys.js';

export type { ContentEncryption } from '../lib/content-encryption.js';

/**
 * JWE key management algorithms keyswitch decrypts and encrypts with.
 *
 * @example
 * ```ts
 * const alg: JweKeyManagement = 'RSA-OAEP-256';
 * ```
 */
export type JweKeyManagement = 'RSA-OAEP-256' | 'RSA-OAEP' | 'ECDH-ES';

/**
 * A JWE protected header as parsed.
 *
 * @example
 * ```ts
 * const { protectedHeader } = await decryptJwe(jwe, key);
 * protectedHeader.kid; // which DS key the SDK used
 * ```
 */
export interface JweHeader extends JsonObject {
  readonly alg: string;
  readonly enc: ContentEncryption;
  readonly kid?: string;
  readonly epk?: EcPublicJwk;
  readonly apu?: string;
  readonly apv?: string;
}

/**
 * Options for {@link decryptJwe}.
 *
 * @example
 * ```ts
 * await decryptJwe(jwe, key, { contentEncryptions: ['A128CBC-HS256', 'A128GCM'] });
 * ```
 */
export interface DecryptJweOptions {
  /** Content encryption algorithms accepted; all supported by default. */
  readonly contentEncryptions?: readonly ContentEncryption[];
}

/**
 * A JWE that decrypted and authenticated.
 *
 * @example
 * ```ts
 * const { plaintext } = await decryptJwe(jwe, key);
 * const deviceData = JSON.parse(new TextDecoder().decode(plaintext));
 * ```
 */
export interface DecryptedJwe {
  /** The plaintext. It is the caller's: this package never logs or keeps it. */
  readonly plaintext: Uint8Array;
  readonly protectedHeader: JweHeader;
}

const OAEP: Readonly<Record<string, JweKeyManagement>> = {
  RSAES_OAEP_SHA_256: 'RSA-OAEP-256',
  RSAES_OAEP_SHA_1: 'RSA-OAEP',
};

/**
 * Decrypts a compact JWE (RFC 7516) whose private key stays in the backend:
 *
 * - `RSA-OAEP-256` / `RSA-OAEP`: the backend decrypts the encrypted key (`key` is an RSA decrypter whose
 *   algorithm must match `alg`). A key that does not decrypt is replaced by a random one, so a wrong key
 *   fails at the tag like any other tampering (RFC 7516 §11.5).
 * - `ECDH-ES` (direct key agreement): the backend derives the shared secret with the sender's `epk`; the
 *   Concat KDF (RFC 7518 §4.6.2) runs here, with `enc` as AlgorithmID and `apu`/`apv` as party info.
 *
 * Content encryption: A128CBC-HS256, A192CBC-HS384, A256CBC-HS512, A128GCM, A192GCM, A256GCM. Compressed
 * (`zip`) and `crit` JWEs are refused.
 *
 * @throws INVALID_INPUT (a malformed header, an `alg` that does not match the key, an unsupported `enc`, an
 * invalid `epk`), INVALID_CIPHERTEXT (every failure to decrypt: a part that is not base64url, an IV or tag of
 * the wrong size, an encrypted key where `alg` has none or none where it needs one, an encrypted key the backend cannot open — whatever code the token gives for it,
 * INTERNAL included — or a JWE that does not authenticate: tampered, or for another key), and the
 * backend's codes that are not about the ciphertext (KEY_DISABLED, KEY_NOT_FOUND, UNAVAILABLE…)
 *
 * @example
 * ```ts
 * // The DS opens the device data a 3DS SDK encrypted to it:
 * const { plaintext } = await decryptJwe(areq.sdkEncData, ks.decrypter('ds-decrypt'));
 * const deviceData = JSON.parse(new TextDecoder().decode(plaintext));
 * ```
 */
export async function decryptJwe(
  jwe: string,
  key: JweDecryptionKey,
  options: DecryptJweOptions = {},
): Promise<DecryptedJwe> {
  const segments = splitCompact(jwe, 5, 'JWE') as [string, string, string, string, string];
  const [headerSegment, encryptedKeySegment, ivSegment, ciphertextSegmentText, tagSegment] = segments;
  const header = decodeProtectedHeader(headerSegment, 'JWE');
  const alg = requiredString(header, 'alg', 'JWE');
  const enc = requiredString(header, 'enc', 'JWE') as ContentEncryption;
  contentEncryptionInfo(enc);
  const allowed = options.contentEncryptions ?? CONTENT_ENCRYPTIONS;
  if (!allowed.includes(enc))
    throw invalidInput(`JWE enc "${enc}" is not accepted; accepted: ${allowed.join(', ')}`);
  if (header['zip'] !== undefined) throw invalidInput('compressed JWEs ("zip") are not supported');
  const kid = optionalString(header, 'kid', 'JWE');
  const encryptedKey = ciphertextSegment(encryptedKeySegment, 'JWE encrypted key');
  const iv = ciphertextSegment(ivSegment, 'JWE IV');
  const ciphertext = ciphertextSegment(ciphertextSegmentText, 'JWE ciphertext');
  const tag = ciphertextSegment(tagSegment, 'JWE authentication tag');

  const cek = isKeyAgreement(key)
    ? await agreedKey(header, alg, enc, encryptedKey, key)
    : await unwrappedKey(alg, enc, encryptedKey, key, kid);
  try {
    const plaintext = decryptContent(enc, cek, iv, ciphertext, tag, utf8(headerSegment));
    return { plaintext, protectedHeader: header as JweHeader };
  } catch (error) {
    // The CEK is always the right size here: a size refused now is the JWE's IV or tag.
    if (isKeyswitchError(error, 'INVALID_INPUT')) throw invalidCiphertext(error.detail);
    throw error;
  } finally {
    cek.fill(0);
  }
}

/** A ciphertext part of the JWE, decoded; INVALID_CIPHERTEXT when it is not base64url. */
function ciphertextSegment(segment: string, what: string): Uint8Array {
  try {
    return base64UrlDecode(segment, what);
  } catch (error) {
    throw isKeyswitchError(error, 'INVALID_INPUT') ? invalidCiphertext(error.detail) : error;
  }
}

/**
 * Backend answers that mean "this ciphertext does not decrypt": INVALID_CIPHERTEXT and INVALID_INPUT, and
 * INTERNAL, which some PKCS#11 tokens (NSS softokn) give for an OAEP ciphertext not below the modulus.
 * KEY_DISABLED, ACCESS_DENIED, UNAVAILABLE and the rest surface as they are.
 */
const DOES_NOT_DECRYPT = ['INVALID_CIPHERTEXT', 'INVALID_INPUT', 'INTERNAL'] as const;

function isKeyAgreement(key: JweDecryptionKey): key is EcdhKeyAgreement {
  if (typeof key !== 'object' || key === null)
    throw invalidInput('decryptJwe needs a decrypter or a key agreement');
  if (typeof (key as EcdhKeyAgreement).deriveSharedSecret === 'function') return true;
  if (typeof (key as RsaOaepDecrypter).decrypt === 'function') return false;
  throw invalidInput('decryptJwe needs a decrypter (RSA-OAEP) or a key agreement (ECDH-ES)');
}

async function unwrappedKey(
  alg: string,
  enc: ContentEncryption,
  encryptedKey: Uint8Array,
  key: RsaOaepDecrypter,
  kid: string | undefined,
): Promise<Uint8Array> {
  const expected = OAEP[key.algorithm];
  if (expected === undefined) {
    throw invalidInput(`${withArticle(String(key.algorithm))} key cannot decrypt a JWE; RSA-OAEP keys can`);
  }
  if (alg !== expected) {
    throw invalidInput(
      `JWE alg "${alg}" does not match the key, which decrypts ${expected} (${key.algorithm})`,
    );
  }
  if (encryptedKey.length === 0)
    throw invalidCiphertext(`${withArticle(alg)} JWE must have an encrypted key`);
  const length = contentKeyBytes(enc);
  let cek: Uint8Array | undefined;
  try {
    // The JWE's kid tells a decrypter with versions which version to ask first.
    cek = await (kid === undefined ? key.decrypt(encryptedKey) : key.decrypt(encryptedKey, { kid }));
  } catch (error) {
    // Only a ciphertext that does not decrypt is hidden; a disabled key or an outage must surface.
    if (!isKeyswitchError(error, ...DOES_NOT_DECRYPT)) throw error;
  }
  if (cek === undefined || cek.length !== length) {
    cek?.fill(0);
    return new Uint8Array(randomBytes(length));
  }
  return cek;
}

async function agreedKey(
  header: JsonObject,
  alg: string,
  enc: ContentEncryption,
  encryptedKey: Uint8Array,
  key: EcdhKeyAgreement,
): Promise<Uint8Array> {
  if (alg !== 'ECDH-ES')
    throw invalidInput(`JWE alg "${alg}" cannot be decrypted with a key agreement; ECDH-ES can`);
  if (encryptedKey.length !== 0) {
    throw invalidCiphertext('an ECDH-ES JWE must have an empty encrypted key');
  }
  const epk = ephemeralPublicKey(header['epk']);
  const apu =
    header['apu'] === undefined
      ? undefined
      : base64UrlDecode(requiredString(header, 'apu', 'JWE'), 'JWE apu');
  const apv =
    header['apv'] === undefined
      ? undefined
      : base64UrlDecode(requiredString(header, 'apv', 'JWE'), 'JWE apv');
  let sharedSecret: Uint8Array;
  try {
    // The JWE's kid tells a key agreement with versions which version the sender used.
    const kid = optionalString(header, 'kid', 'JWE');
    sharedSecret = await (kid === undefined
      ? key.deriveSharedSecret(epk)
      : key.deriveSharedSecret(epk, { kid }));
  } catch (error) {
    if (isKeyswitchError(error, 'INTERNAL')) {
      throw invalidCiphertext('JWE does not decrypt: the key agreement with its "epk" failed');
    }
    throw error;
  }
  try {
    return concatKdf({
      sharedSecret,
      keyBits: contentKeyBytes(enc) * 8,
      algorithmId: enc,
      ...(apu === undefined ? {} : { partyUInfo: apu }),
      ...(apv === undefined ? {} : { partyVInfo: apv }),
    });
  } finally {
    sharedSecret.fill(0);
  }
}

/** The `epk` header: a public EC JWK on a supported curve, with only the public members passed on. */
function ephemeralPublicKey(value: unknown): EcPublicJwk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidInput('an ECDH-ES JWE must have an "epk" header holding a JWK');
  }
  const jwk = value as Record<string, unknown>;
  if (jwk['kty'] !== 'EC') throw invalidInput('the JWE "epk" must be an EC key');
  try {
    jwkToSpki(jwk as unknown as EcPublicJwk);
  } catch (error) {
    throw invalidInput('the JWE "epk" is not a valid EC public key', error);
  }
  return { kty: 'EC', crv: jwk['crv'] as EcPublicJwk['crv'], x: jwk['x'] as string, y: jwk['y'] as string };
}
