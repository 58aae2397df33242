import { base64UrlDecode, base64UrlEncode, invalidInput } from '@keyswitch/core';

export { base64UrlEncode };

/** Decodes a base64url segment of a compact token, naming the segment when it is not canonical base64url. */
export function decodeSegment(segment: string, what: string): Uint8Array {
  try {
    return base64UrlDecode(segment);
  } catch (error) {
    throw invalidInput(`${what} is not canonical base64url`, error);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard, padded base64 (as `x5c` uses, RFC 7515 §4.1.6) strictly. */
export function decodeBase64(text: string, what: string): Uint8Array {
  if (typeof text !== 'string' || text.length === 0 || !BASE64.test(text)) {
    throw invalidInput(`${what} is not base64`);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (Buffer.from(bytes).toString('base64') !== text) throw invalidInput(`${what} is not canonical base64`);
  return bytes;
}

/** Standard, padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
