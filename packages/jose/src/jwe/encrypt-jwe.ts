import { constants, diffieHellman, generateKeyPair, publicEncrypt, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { base64UrlEncode, type EcPublicJwk, invalidInput, spkiToJwk, utf8 } from '@keyswitch/core';
import { concatKdf } from '../kdf/concat-kdf.js';
import { assertExtraHeader } from '../lib/compact.js';
import {
  type ContentEncryption,
  contentEncryptionInfo,
  contentIvBytes,
  contentKeyBytes,
  encryptContent,
} from '../lib/content-encryption.js';
import { payloadBytes } from '../lib/json.js';
import { type PublicKeyInput, resolvePublicKey } from '../lib/public-key-input.js';
import type { JweKeyManagement } from './decrypt-jwe.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * The recipient of a JWE: its public key in any form {@link verifyJws} takes, or a keyswitch handle that
 * can tell its public key (`ks.encrypter('ds-decrypt')`, `ks.keyAgreement('ds-ecdh')`).
 *
 * @example
 * ```ts
 * await encryptJwe(data, dsPublicKeyPem, { enc: 'A128GCM' });
 * await encryptJwe(data, ks.encrypter('ds-decrypt'), { enc: 'A128GCM' });
 * ```
 */
export type JweRecipient = PublicKeyInput | { publicKey(): Promise<{ readonly spki: Uint8Array }> };

/**
 * Options for {@link encryptJwe}.
 *
 * @example
 * ```ts
 * await encryptJwe(data, recipient, { alg: 'ECDH-ES', enc: 'A128CBC-HS256', kid: 'ds-2025', apu });
 * ```
 */
export interface EncryptJweOptions {
  /** Content encryption: `A128CBC-HS256` and `A128GCM` are what EMV 3-D Secure uses. */
  readonly enc: ContentEncryption;
  /**
   * Key management; by default `RSA-OAEP-256` for an RSA recipient and `ECDH-ES` for an EC one (or what a
   * handle's configured algorithm says).
   */
  readonly alg?: JweKeyManagement;
  /** The `kid` header: which recipient key (a DS key id, for example). */
  readonly kid?: string;
  /** ECDH-ES only: PartyUInfo and PartyVInfo, sent as `apu` and `apv`. */
  readonly apu?: Uint8Array;
  readonly apv?: Uint8Array;
  /** Further protected header members (`typ`, `cty`…). `alg`, `enc`, `kid`, `epk`, `apu`, `apv`, `zip`, `crit` are refused. */
  readonly header?: Readonly<Record<string, unknown>>;
}

/**
 * Encrypts to a recipient's public key as a compact JWE (RFC 7516). Only public keys are involved, so it
 * runs in software: RSA-OAEP(-256) wraps a random content key; ECDH-ES agrees one with a fresh ephemeral
 * key (sent as `epk`) through the Concat KDF. Whoever holds the private key decrypts, here with
 * {@link decryptJwe} in the backend, or anywhere with any JOSE library.
 *
 * @throws INVALID_INPUT (an `alg` that does not fit the recipient key, an unsupported `enc`, a malformed key
 * or header)
 *
 * @example
 * ```ts
 * // An SDK-side test encrypts device data to the DS key:
 * const sdkEncData = await encryptJwe(deviceData, ks.encrypter('ds-decrypt'), { enc: 'A128CBC-HS256' });
 * const jwe = await encryptJwe('hello', dsPublicKeyPem, { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'ds-2025' });
 * ```
 */
export async function encryptJwe(
  plaintext: Uint8Array | string | object,
  recipient: JweRecipient,
  options: EncryptJweOptions,
): Promise<string> {
  if (typeof options !== 'object' || options === null)
    throw invalidInput('encryptJwe needs options with enc');
  const enc = options.enc;
  contentEncryptionInfo(enc);
  assertExtraHeader(options.header, ['alg', 'enc', 'kid', 'epk', 'apu', 'apv', 'zip', 'crit'], 'JWE');
  const content = payloadBytes(plaintext, 'JWE plaintext');
  const { key, configured } = await recipientKey(recipient);
  const alg = options.alg ?? configured ?? (key.parsed.family === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES');

  const header: Record<string, unknown> = { alg, enc };
  if (options.kid !== undefined) header['kid'] = options.kid;
  let cek: Uint8Array;
  let encryptedKey = new Uint8Array(0);
  if (alg === 'RSA-OAEP-256' || alg === 'RSA-OAEP') {
    if (key.parsed.family !== 'RSA') throw invalidInput(`JWE alg ${alg} needs an RSA recipient key`);
    if (options.apu !== undefined || options.apv !== undefined)
      throw invalidInput('apu and apv are for ECDH-ES only');
    cek = new Uint8Array(randomBytes(contentKeyBytes(enc)));
    encryptedKey = new Uint8Array(
      publicEncrypt(
        {
          key: key.keyObject,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: alg === 'RSA-OAEP' ? 'sha1' : 'sha256',
        },
        cek,
      ),
    );
  } else if (alg === 'ECDH-ES') {
    if (key.parsed.family !== 'EC') throw invalidInput('JWE alg ECDH-ES needs an EC recipient key');
    const ephemeral = await generateKeyPairAsync('ec', { namedCurve: key.parsed.ec.curve });
    const epk = spkiToJwk(
      new Uint8Array(ephemeral.publicKey.export({ format: 'der', type: 'spki' })),
    ) as EcPublicJwk;
    header['epk'] = epk;
    if (options.apu !== undefined) header['apu'] = base64UrlEncode(options.apu);
    if (options.apv !== undefined) header['apv'] = base64UrlEncode(options.apv);
    const sharedSecret = new Uint8Array(
      diffieHellman({ privateKey: ephemeral.privateKey, publicKey: key.keyObject }),
    );
    cek = concatKdf({
      sharedSecret,
      keyBits: contentKeyBytes(enc) * 8,
      algorithmId: enc,
      ...(options.apu === undefined ? {} : { partyUInfo: options.apu }),
      ...(options.apv === undefined ? {} : { partyVInfo: options.apv }),
    });
    sharedSecret.fill(0);
  } else {
    throw invalidInput(
      `JWE alg ${JSON.stringify(alg)} is not supported; use RSA-OAEP-256, RSA-OAEP or ECDH-ES`,
    );
  }
  Object.assign(header, options.header);

  const headerSegment = base64UrlEncode(utf8(JSON.stringify(header)));
  const iv = new Uint8Array(randomBytes(contentIvBytes(enc)));
  try {
    const { ciphertext, tag } = encryptContent(enc, cek, iv, content, utf8(headerSegment));
    return [
      headerSegment,
      base64UrlEncode(encryptedKey),
      base64UrlEncode(iv),
      base64UrlEncode(ciphertext),
      base64UrlEncode(tag),
    ].join('.');
  } finally {
    cek.fill(0);
  }
}

async function recipientKey(recipient: JweRecipient) {
  if (
    typeof recipient === 'object' &&
    recipient !== null &&
    !(recipient instanceof Uint8Array) &&
    typeof (recipient as { publicKey?: unknown }).publicKey === 'function'
  ) {
    const handle = recipient as { publicKey(): Promise<{ readonly spki: Uint8Array }>; algorithm?: unknown };
    const configured: JweKeyManagement | undefined =
      handle.algorithm === 'RSAES_OAEP_SHA_1'
        ? 'RSA-OAEP'
        : handle.algorithm === 'RSAES_OAEP_SHA_256'
          ? 'RSA-OAEP-256'
          : handle.algorithm === 'ECDH'
            ? 'ECDH-ES'
            : undefined;
    return { key: resolvePublicKey(await handle.publicKey(), 'the JWE recipient key'), configured };
  }
  return {
    key: resolvePublicKey(recipient as PublicKeyInput, 'the JWE recipient key'),
    configured: undefined,
  };
}
