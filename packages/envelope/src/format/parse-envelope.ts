import { base64UrlDecode, bytesEqual, encodeEncryptionContext } from '@keyswitch/core';
import { decodeCanonicalContext } from '../lib/context-codec.js';
import { invalidEnvelope } from '../lib/invalid-envelope.js';
import { KEY_NAME, VERSION_ID } from '../lib/names.js';
import {
  COMMITMENT_BYTES,
  ENVELOPE_FORMAT_VERSION,
  ENVELOPE_MAGIC,
  type Envelope,
  FLAG_CONTEXT_STORED,
  IV_BYTES,
  LEGACY_FORMAT_VERSION,
  MAX_WRAPPED_KEY_BYTES,
  MAX_WRAPPED_KEYS,
  SALT_BYTES,
  TAG_BYTES,
  type WrappedDataKey,
} from './envelope.js';

/** A parsed envelope and the raw bytes of its stored context (for re-serialising). */
export interface ParsedEnvelope extends Envelope {
  /** @internal The canonical bytes of the stored context, when present. */
  readonly storedContextBytes: Uint8Array | undefined;
}

/**
 * Parses an envelope (format 2, or format 1 written by earlier releases), in binary or base64url string
 * form, strictly: a wrong magic, an unknown format version or flag, a length that runs past the end, a
 * name or version id with characters the configuration does not allow, the same version twice, a context
 * that is not canonical, or too few bytes for the IV and tag. Parsing checks structure only; the
 * commitment and authenticity are checked when decrypting.
 *
 * @throws INVALID_CIPHERTEXT for anything malformed, naming the field and, once read, the logical key
 *
 * @example
 * ```ts
 * const envelope = parseEnvelope(row.ciphertext);
 * console.log(envelope.keyName, envelope.keyVersion); // 'pan-kek', '2025-01'
 * ```
 */
export function parseEnvelope(input: Uint8Array | string): ParsedEnvelope {
  const bytes = typeof input === 'string' ? decodeEnvelopeText(input) : input;
  if (!(bytes instanceof Uint8Array)) {
    throw invalidEnvelope('an envelope must be a Uint8Array or a base64url string');
  }
  let offset = 0;
  let keyName: string | undefined;
  const fail = (what: string) => invalidEnvelope(`malformed envelope: ${what}`, keyName);
  const take = (length: number, what: string): Uint8Array => {
    if (offset + length > bytes.length) throw fail(`truncated in the ${what}`);
    const out = bytes.subarray(offset, offset + length);
    offset += length;
    return out;
  };
  const u8 = (what: string) => take(1, what)[0]!;
  const u16 = (what: string) => {
    const two = take(2, what);
    return (two[0]! << 8) | two[1]!;
  };
  const versionId = () => {
    const id = Buffer.from(take(u8('key version length'), 'key version')).toString('latin1');
    if (!VERSION_ID.test(id)) throw fail('the key version is not a valid version id');
    return id;
  };
  const wrappedKey = () => {
    const length = u16('wrapped data key length');
    if (length === 0 || length > MAX_WRAPPED_KEY_BYTES) {
      throw fail(`the wrapped data key length must be 1 to ${MAX_WRAPPED_KEY_BYTES}`);
    }
    return take(length, 'wrapped data key');
  };

  const magic = take(ENVELOPE_MAGIC.length, 'magic');
  if (!bytesEqual(magic, ENVELOPE_MAGIC)) throw fail('it does not start with the magic "KSEN"');
  const formatVersion = u8('format version');
  if (formatVersion !== ENVELOPE_FORMAT_VERSION && formatVersion !== LEGACY_FORMAT_VERSION) {
    throw fail(`unknown format version ${formatVersion}`);
  }
  const flags = u8('flags');
  if ((flags & ~FLAG_CONTEXT_STORED) !== 0) throw fail('unknown flags are set');
  const name = Buffer.from(take(u8('key name length'), 'key name')).toString('latin1');
  if (!KEY_NAME.test(name)) throw fail('the key name is not a valid key name');
  keyName = name;
  const legacyVersion = formatVersion === LEGACY_FORMAT_VERSION ? versionId() : undefined;
  let storedContextBytes: Uint8Array | undefined;
  let storedContext: Envelope['storedContext'];
  if ((flags & FLAG_CONTEXT_STORED) !== 0) {
    storedContextBytes = take(u16('context length'), 'context');
    storedContext = decodeCanonicalContext(storedContextBytes);
    if (storedContext === undefined) throw fail('the stored encryption context is not canonical');
    // Keep a normalised copy so later comparisons see exactly the canonical bytes.
    storedContextBytes = encodeEncryptionContext(storedContext);
  }
  let salt: Uint8Array | undefined;
  let commitment: Uint8Array | undefined;
  const wrappedKeys: WrappedDataKey[] = [];
  if (legacyVersion !== undefined) {
    wrappedKeys.push({ keyVersion: legacyVersion, wrappedDataKey: wrappedKey() });
  } else {
    salt = take(SALT_BYTES, 'salt');
    commitment = take(COMMITMENT_BYTES, 'commitment');
    const count = u8('wrapped data key count');
    if (count === 0 || count > MAX_WRAPPED_KEYS) {
      throw fail(`the number of wrapped data keys must be 1 to ${MAX_WRAPPED_KEYS}`);
    }
    for (let index = 0; index < count; index += 1) {
      const keyVersion = versionId();
      if (wrappedKeys.some((entry) => entry.keyVersion === keyVersion)) {
        throw fail(`version "${keyVersion}" wraps the data key twice`);
      }
      wrappedKeys.push({ keyVersion, wrappedDataKey: wrappedKey() });
    }
  }
  const iv = take(IV_BYTES, 'IV');
  if (bytes.length - offset < TAG_BYTES) throw fail('truncated in the ciphertext or tag');
  const ciphertext = bytes.subarray(offset, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  return {
    formatVersion: formatVersion === LEGACY_FORMAT_VERSION ? 1 : 2,
    keyName: name,
    keyVersion: wrappedKeys[0]!.keyVersion,
    storedContext,
    storedContextBytes,
    wrappedDataKey: wrappedKeys[0]!.wrappedDataKey,
    wrappedKeys,
    salt,
    commitment,
    iv,
    ciphertext,
    tag,
  };
}

function decodeEnvelopeText(text: string): Uint8Array {
  try {
    return base64UrlDecode(text);
  } catch (error) {
    throw invalidEnvelope('malformed envelope: the string is not canonical base64url', undefined, error);
  }
}
