import { base64UrlDecode, encodeEncryptionContext } from '@keyswitch/core';
import { decodeCanonicalContext } from '../lib/context-codec.js';
import { invalidEnvelope } from '../lib/invalid-envelope.js';
import { KEY_NAME, VERSION_ID } from '../lib/names.js';
import {
  ENVELOPE_FORMAT_VERSION,
  ENVELOPE_MAGIC,
  type Envelope,
  FLAG_CONTEXT_STORED,
  IV_BYTES,
  MAX_WRAPPED_KEY_BYTES,
  TAG_BYTES,
} from './envelope.js';

/** A parsed envelope and the raw bytes of its stored context (for re-serialising). */
export interface ParsedEnvelope extends Envelope {
  /** @internal The canonical bytes of the stored context, when present. */
  readonly storedContextBytes: Uint8Array | undefined;
}

/**
 * Parses an envelope, in binary or base64url string form, strictly: a wrong magic, an unknown format
 * version or flag, a length that runs past the end, a name or version id with characters the
 * configuration does not allow, a context that is not canonical, or too few bytes for the IV and tag.
 * Parsing checks structure only; authenticity is checked when decrypting.
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

  const magic = take(ENVELOPE_MAGIC.length, 'magic');
  if (!Buffer.from(magic).equals(ENVELOPE_MAGIC)) throw fail('it does not start with the magic "KSEN"');
  const formatVersion = u8('format version');
  if (formatVersion !== ENVELOPE_FORMAT_VERSION) throw fail(`unknown format version ${formatVersion}`);
  const flags = u8('flags');
  if ((flags & ~FLAG_CONTEXT_STORED) !== 0) throw fail('unknown flags are set');
  const name = Buffer.from(take(u8('key name length'), 'key name')).toString('latin1');
  if (!KEY_NAME.test(name)) throw fail('the key name is not a valid key name');
  keyName = name;
  const keyVersion = Buffer.from(take(u8('key version length'), 'key version')).toString('latin1');
  if (!VERSION_ID.test(keyVersion)) throw fail('the key version is not a valid version id');
  let storedContextBytes: Uint8Array | undefined;
  let storedContext: Envelope['storedContext'];
  if ((flags & FLAG_CONTEXT_STORED) !== 0) {
    storedContextBytes = take(u16('context length'), 'context');
    storedContext = decodeCanonicalContext(storedContextBytes);
    if (storedContext === undefined) throw fail('the stored encryption context is not canonical');
    // Keep a normalised copy so later comparisons see exactly the canonical bytes.
    storedContextBytes = encodeEncryptionContext(storedContext);
  }
  const wrappedLength = u16('wrapped data key length');
  if (wrappedLength === 0 || wrappedLength > MAX_WRAPPED_KEY_BYTES) {
    throw fail(`the wrapped data key length must be 1 to ${MAX_WRAPPED_KEY_BYTES}`);
  }
  const wrappedDataKey = take(wrappedLength, 'wrapped data key');
  const iv = take(IV_BYTES, 'IV');
  if (bytes.length - offset < TAG_BYTES) throw fail('truncated in the ciphertext or tag');
  const ciphertext = bytes.subarray(offset, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  return {
    formatVersion: 1,
    keyName: name,
    keyVersion,
    storedContext,
    storedContextBytes,
    wrappedDataKey,
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
