import {
  base64UrlDecode,
  base64UrlEncode,
  bytesEqual,
  invalidInput,
  requireObject,
  utf8,
} from '@keyswitch/core';
import type { JweHeader } from '../jwe/decrypt-jwe.js';
import { decodeProtectedHeader, requiredString, splitCompact } from '../lib/compact.js';
import { decryptContent, encryptContent } from '../lib/content-encryption.js';
import { invalidCiphertext } from '../lib/errors.js';
import { payloadBytes } from '../lib/json.js';

/**
 * Which way a challenge message goes: CReq from the SDK to the ACS, CRes from the ACS to the SDK.
 *
 * @example
 * ```ts
 * const direction: ChallengeDirection = role === 'acs' ? 'acs-to-sdk' : 'sdk-to-acs';
 * ```
 */
export type ChallengeDirection = 'sdk-to-acs' | 'acs-to-sdk';

/**
 * The content encryption EMV 3-D Secure allows for CReq and CRes.
 *
 * @example
 * ```ts
 * const enc = jose.decodeProtectedHeader(creq).enc as ChallengeEncryption; // answer in kind
 * ```
 */
export type ChallengeEncryption = 'A128CBC-HS256' | 'A128GCM';

/**
 * What both sides of a challenge message agree on.
 *
 * @example
 * ```ts
 * const options: ChallengeCipherOptions = { sessionKey, direction: 'sdk-to-acs', counter: 0 };
 * ```
 */
export interface ChallengeCipherOptions {
  /** The 32-byte session key from the ECDH and the EMV Concat KDF. */
  readonly sessionKey: Uint8Array;
  readonly direction: ChallengeDirection;
  /** The message counter in that direction (`sdkCounterStoA` or `acsCounterAtoS`), 0 to 255. */
  readonly counter: number;
}

/**
 * Options for {@link encryptChallengeMessage}.
 *
 * @example
 * ```ts
 * encryptChallengeMessage(cres, { sessionKey, direction: 'acs-to-sdk', counter: 0, enc: 'A128GCM', acsTransID });
 * ```
 */
export interface EncryptChallengeOptions extends ChallengeCipherOptions {
  /** `A128CBC-HS256` (the default) or `A128GCM`; a CRes uses what the CReq used. */
  readonly enc?: ChallengeEncryption;
  /** The ACS Transaction ID, sent as the `kid` header. */
  readonly acsTransID: string;
}

/**
 * Options for {@link decryptChallengeMessage}.
 *
 * @example
 * ```ts
 * decryptChallengeMessage(jwe, { sessionKey, direction: 'sdk-to-acs', counter: 0, acsTransID, encryptions: ['A128CBC-HS256'] });
 * ```
 */
export interface DecryptChallengeOptions extends ChallengeCipherOptions {
  /** When given, the `kid` header must be this ACS Transaction ID. */
  readonly acsTransID?: string;
  /** The encryptions accepted; both by default. */
  readonly encryptions?: readonly ChallengeEncryption[];
}

const ENCRYPTIONS: readonly ChallengeEncryption[] = ['A128CBC-HS256', 'A128GCM'];

/**
 * Encrypts a CReq (SDK to ACS) or CRes (ACS to SDK) as EMV 3-D Secure specifies: a compact JWE with
 * `alg: dir`, `kid` = ACS Transaction ID, and
 *
 * - A128CBC-HS256 with the whole 32-byte session key (MAC key first, AES key last, as RFC 7518 §5.2), or
 *   A128GCM with the first 16 bytes from SDK to ACS and the last 16 from ACS to SDK;
 * - an IV that is not random but derived from the counter: 0x00 bytes (SDK to ACS) or 0xFF bytes (ACS to SDK)
 *   ending in the counter byte, 16 bytes for CBC and 12 for GCM. Each counter value is therefore used once.
 *
 * @throws INVALID_INPUT (a session key that is not 32 bytes, a counter outside 0 to 255, an empty ACS
 * Transaction ID)
 *
 * @example
 * ```ts
 * const creq = encryptChallengeMessage(
 *   { messageType: 'CReq', acsTransID, sdkCounterStoA: '000', challengeDataEntry: '123456' },
 *   { sessionKey, direction: 'sdk-to-acs', counter: 0, acsTransID },
 * );
 * ```
 */
export function encryptChallengeMessage(
  message: Uint8Array | string | object,
  options: EncryptChallengeOptions,
): string {
  requireObject(options, 'encryptChallengeMessage options');
  const enc = options.enc ?? 'A128CBC-HS256';
  if (!ENCRYPTIONS.includes(enc))
    throw invalidInput(`challenge messages use A128CBC-HS256 or A128GCM, not ${String(enc)}`);
  if (typeof options.acsTransID !== 'string' || options.acsTransID.length === 0) {
    throw invalidInput('acsTransID must be a non-empty string');
  }
  const key = directionKey(options.sessionKey, enc, options.direction);
  const iv = challengeIv(enc, options.direction, options.counter);
  const headerSegment = base64UrlEncode(utf8(JSON.stringify({ alg: 'dir', enc, kid: options.acsTransID })));
  const { ciphertext, tag } = encryptContent(
    enc,
    key,
    iv,
    payloadBytes(message, 'challenge message'),
    utf8(headerSegment),
  );
  return `${headerSegment}..${base64UrlEncode(iv)}.${base64UrlEncode(ciphertext)}.${base64UrlEncode(tag)}`;
}

/**
 * Decrypts a CReq or CRes (see {@link encryptChallengeMessage}). Besides the tag, the IV must be the one the
 * expected counter gives, so a replayed or reordered message fails.
 *
 * @throws INVALID_INPUT (malformed JWE, `alg` other than `dir`, an encryption not allowed, a `kid` other than
 * the ACS Transaction ID), INVALID_CIPHERTEXT (wrong key, tampered, or an IV for another counter or direction)
 *
 * @example
 * ```ts
 * const { plaintext } = decryptChallengeMessage(body, { sessionKey, direction: 'sdk-to-acs', counter: 0, acsTransID });
 * const creq = JSON.parse(new TextDecoder().decode(plaintext));
 * ```
 */
export function decryptChallengeMessage(
  jwe: string,
  options: DecryptChallengeOptions,
): { plaintext: Uint8Array; protectedHeader: JweHeader } {
  const [headerSegment, encryptedKey, ivSegment, ciphertextSegment, tagSegment] = splitCompact(
    jwe,
    5,
    'JWE',
  ) as [string, string, string, string, string];
  const header = decodeProtectedHeader(headerSegment, 'JWE');
  if (requiredString(header, 'alg', 'JWE') !== 'dir')
    throw invalidInput('a challenge message JWE must use alg "dir"');
  const enc = requiredString(header, 'enc', 'JWE') as ChallengeEncryption;
  const allowed = options.encryptions ?? ENCRYPTIONS;
  if (!ENCRYPTIONS.includes(enc) || !allowed.includes(enc)) {
    throw invalidInput(`challenge message enc "${enc}" is not accepted; accepted: ${allowed.join(', ')}`);
  }
  if (header['zip'] !== undefined) throw invalidInput('compressed JWEs ("zip") are not supported');
  if (options.acsTransID !== undefined && header['kid'] !== options.acsTransID) {
    throw invalidInput("the challenge message kid is not this transaction's ACS Transaction ID");
  }
  if (encryptedKey.length !== 0) throw invalidInput('a "dir" JWE must have an empty encrypted key');
  const iv = base64UrlDecode(ivSegment, 'JWE IV');
  const expectedIv = challengeIv(enc, options.direction, options.counter);
  const key = directionKey(options.sessionKey, enc, options.direction);
  if (!bytesEqual(iv, expectedIv)) {
    throw invalidCiphertext(
      `JWE does not decrypt: its IV is not the one for ${options.direction} counter ${options.counter} (replayed, reordered or misdirected)`,
    );
  }
  const plaintext = decryptContent(
    enc,
    key,
    iv,
    base64UrlDecode(ciphertextSegment, 'JWE ciphertext'),
    base64UrlDecode(tagSegment, 'JWE authentication tag'),
    utf8(headerSegment),
  );
  return { plaintext, protectedHeader: header as JweHeader };
}

/** The content key for a direction: the whole session key for CBC-HMAC, one half of it for GCM. */
function directionKey(
  sessionKey: Uint8Array,
  enc: ChallengeEncryption,
  direction: ChallengeDirection,
): Uint8Array {
  if (!(sessionKey instanceof Uint8Array) || sessionKey.length !== 32) {
    throw invalidInput('the challenge session key must be 32 bytes');
  }
  assertDirection(direction);
  if (enc === 'A128CBC-HS256') return sessionKey;
  return direction === 'sdk-to-acs' ? sessionKey.subarray(0, 16) : sessionKey.subarray(16, 32);
}

/** The IV a counter gives: the direction's pad byte, then the counter as the last byte. */
function challengeIv(enc: ChallengeEncryption, direction: ChallengeDirection, counter: number): Uint8Array {
  assertDirection(direction);
  if (!Number.isInteger(counter) || counter < 0 || counter > 255) {
    throw invalidInput(
      `the challenge message counter must be an integer from 0 to 255, got ${String(counter)}`,
    );
  }
  const iv = new Uint8Array(enc === 'A128GCM' ? 12 : 16).fill(direction === 'sdk-to-acs' ? 0x00 : 0xff);
  iv[iv.length - 1] = counter;
  return iv;
}

function assertDirection(direction: unknown): void {
  if (direction !== 'sdk-to-acs' && direction !== 'acs-to-sdk') {
    throw invalidInput(`direction must be "sdk-to-acs" or "acs-to-sdk", got ${JSON.stringify(direction)}`);
  }
}
