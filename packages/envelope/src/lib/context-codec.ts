import {
  bytesEqual,
  decodeUtf8Strict,
  type EncryptionContext,
  encodeEncryptionContext,
  KeyswitchError,
  LIMITS,
} from '@keyswitch/core';

/**
 * Decodes the canonical encryption context bytes written by `encodeEncryptionContext` (sorted,
 * length-prefixed UTF-8 pairs). Strict: anything that does not re-encode to the same bytes is rejected.
 *
 * @returns the context, or `undefined` when the bytes are not a canonical encoding
 */
export function decodeCanonicalContext(bytes: Uint8Array): EncryptionContext | undefined {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: [string, string][] = [];
  let offset = 0;
  while (offset < view.length) {
    const pair: string[] = [];
    for (let i = 0; i < 2; i++) {
      if (offset + 4 > view.length) return undefined;
      const length = view.readUInt32BE(offset);
      offset += 4;
      if (offset + length > view.length) return undefined;
      const text = decodeUtf8Strict(view.subarray(offset, offset + length));
      if (text === undefined) return undefined;
      pair.push(text);
      offset += length;
    }
    entries.push([pair[0]!, pair[1]!]);
  }
  const context: EncryptionContext = Object.fromEntries(entries);
  if (Object.keys(context).length !== entries.length) return undefined;
  if (!bytesEqual(encodeEncryptionContext(context), bytes)) return undefined;
  return context;
}

/**
 * Checks an encryption context as the provider contract does (an object of strings, non-empty keys,
 * at most {@link LIMITS.maxContextBytes}) and returns its canonical bytes.
 *
 * @throws INVALID_INPUT naming the problem, never a value
 */
export function canonicalContextBytes(context: unknown, keyName: string): Uint8Array {
  if (context === undefined) return new Uint8Array(0);
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new KeyswitchError('INVALID_INPUT', 'the encryption context must be an object of strings', {
      keyName,
    });
  }
  let size = 0;
  for (const [key, value] of Object.entries(context)) {
    if (typeof value !== 'string') {
      throw new KeyswitchError('INVALID_INPUT', `encryption context value for "${key}" must be a string`, {
        keyName,
      });
    }
    if (key.length === 0) {
      throw new KeyswitchError('INVALID_INPUT', 'encryption context keys must not be empty', { keyName });
    }
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > LIMITS.maxContextBytes) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `the encryption context is ${size} bytes; the limit is ${LIMITS.maxContextBytes}`,
      { keyName },
    );
  }
  return encodeEncryptionContext(context as EncryptionContext);
}
