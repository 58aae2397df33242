import { decodeUtf8Strict, invalidInput, utf8 } from '@keyswitch/core';

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/**
 * Parses UTF-8 JSON that must be an object. Errors name `what` and never quote the text, which may be a
 * decrypted payload.
 */
export function parseJsonObject(
  input: Uint8Array | string,
  what: string,
  fail: (detail: string) => Error = invalidInput,
): JsonObject {
  const text = typeof input === 'string' ? input : decodeUtf8Strict(input);
  if (text === undefined) throw fail(`${what} is not valid UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail(`${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail(`${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/** Payload bytes from what callers pass: bytes as they are, text as UTF-8, other values as JSON. */
export function payloadBytes(payload: unknown, what: string): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (typeof payload === 'string') return utf8(payload);
  if (typeof payload === 'object' && payload !== null) return utf8(JSON.stringify(payload));
  throw invalidInput(`${what} must be a Uint8Array, a string or a JSON object`);
}
