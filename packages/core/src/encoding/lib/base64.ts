import { invalidInput } from '../../errors.js';

const ALPHABET = {
  base64: /^[A-Za-z0-9+/]*={0,2}$/,
  base64url: /^[A-Za-z0-9_-]*$/,
} as const;

/**
 * Decodes base64 or base64url strictly: only the alphabet's characters, canonical padding (none for
 * base64url) and zero unused bits, so that exactly one text encodes any given bytes.
 */
export function decodeBase64Strict(text: string, encoding: 'base64' | 'base64url', what: string): Uint8Array {
  if (typeof text !== 'string' || !ALPHABET[encoding].test(text)) {
    throw invalidInput(`${what} is not valid ${encoding}`);
  }
  const bytes = Buffer.from(text, encoding);
  if (bytes.toString(encoding) !== text) throw invalidInput(`${what} is not valid ${encoding}`);
  return new Uint8Array(bytes);
}

/** Encodes `bytes` as base64 (with padding) or base64url (without). */
export function encodeBase64(bytes: Uint8Array, encoding: 'base64' | 'base64url'): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);
}
