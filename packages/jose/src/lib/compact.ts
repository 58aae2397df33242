import { base64UrlDecode, invalidInput } from '@keyswitch/core';
import { type JsonObject, parseJsonObject } from './json.js';

/** Largest compact token accepted, in characters: far above any 3-D Secure message, far below a DoS. */
const MAX_TOKEN_LENGTH = 1_000_000;

/** Splits a compact JWS (3 parts) or JWE (5 parts), refusing anything else before any decoding. */
export function splitCompact(token: unknown, parts: 3 | 5, what: 'JWS' | 'JWE'): string[] {
  if (typeof token !== 'string') throw invalidInput(`${what} must be a string in compact serialization`);
  if (token.length > MAX_TOKEN_LENGTH)
    throw invalidInput(`${what} is longer than ${MAX_TOKEN_LENGTH} characters`);
  const segments = token.split('.');
  if (segments.length !== parts) {
    throw invalidInput(`${what} compact serialization must have ${parts} parts, got ${segments.length}`);
  }
  return segments;
}

/** Decodes and parses a protected header segment, and refuses `crit` (no extension is understood). */
export function decodeProtectedHeader(segment: string, what: 'JWS' | 'JWE'): JsonObject {
  if (segment.length === 0) throw invalidInput(`${what} protected header is empty`);
  const header = parseJsonObject(
    base64UrlDecode(segment, `${what} protected header`),
    `${what} protected header`,
  );
  if (header['crit'] !== undefined) {
    throw invalidInput(`${what} header lists critical extensions ("crit") that are not supported`);
  }
  return header;
}

/** A header member that must be a non-empty string. */
export function requiredString(header: JsonObject, name: string, what: string): string {
  const value = header[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidInput(`${what} header member "${name}" is missing or not a string`);
  }
  return value;
}

/** A header member that may be absent but must be a string when present. */
export function optionalString(header: JsonObject, name: string, what: string): string | undefined {
  const value = header[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidInput(`${what} header member "${name}" is not a string`);
  return value;
}

/** Refuses caller-supplied header members that the function sets itself. */
export function assertExtraHeader(
  extra: Readonly<Record<string, unknown>> | undefined,
  reserved: readonly string[],
  what: string,
): void {
  if (extra === undefined) return;
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw invalidInput(`${what} header must be an object`);
  }
  for (const name of reserved) {
    if (Object.hasOwn(extra, name)) {
      throw invalidInput(`${what} header member "${name}" is set by keyswitch, not by the extra header`);
    }
  }
}
