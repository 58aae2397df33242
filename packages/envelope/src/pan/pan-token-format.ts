import { KeyswitchError } from '@keyswitch/core';
import { VERSION_ID } from '../lib/names.js';

/** The token formats: 1 (the HMAC of the digits alone), 2 (with a domain-separation label). */
export type PanTokenFormat = 1 | 2;

/** The default domain-separation label of format 2 tokens. */
export const DEFAULT_PAN_TOKEN_LABEL = 'pan-lookup';

const FORMAT_2_PREFIX = 'keyswitch pan token v2\0';
const LABEL = /^[\x21-\x7e]{1,64}$/;

/** Checks a domain-separation label: 1 to 64 printable ASCII characters, no spaces. */
export function checkLabel(label: unknown, keyName: string): string {
  if (typeof label !== 'string' || !LABEL.test(label)) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      'the PAN token label must be 1 to 64 printable ASCII characters without spaces',
      { keyName },
    );
  }
  return label;
}

/**
 * What the backend MACs for a token: format 1, the digits; format 2, a fixed prefix naming the format,
 * the label and a zero byte, then the digits — so a format 2 token is never the MAC of anything else the
 * same key MACs (another label, format 1, a message that is not a PAN lookup).
 */
export function macInput(format: PanTokenFormat, label: string, digits: Buffer): Buffer {
  if (format === 1) return Buffer.from(digits);
  return Buffer.concat([Buffer.from(`${FORMAT_2_PREFIX}${label}\0`, 'latin1'), digits]);
}

/** A token's text: format 1 `version:mac` (or `mac`), format 2 `$2$version$mac` (or `$2$$mac`). */
export function formatToken(format: PanTokenFormat, version: string | undefined, mac: string): string {
  if (format === 1) return version === undefined ? mac : `${version}:${mac}`;
  return `$2$${version ?? ''}$${mac}`;
}

/** A token read back: its format, the key version it names (if any) and the encoded MAC. */
export interface ParsedPanToken {
  readonly format: PanTokenFormat;
  readonly version: string | undefined;
  readonly mac: string;
}

/** Reads a token's format from its prefix: `$2$` is format 2, anything else format 1; `undefined` if malformed. */
export function parseToken(token: string): ParsedPanToken | undefined {
  if (token.startsWith('$')) {
    const parts = token.split('$');
    if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '2') return undefined;
    const version = parts[2] === '' ? undefined : parts[2];
    if (version !== undefined && !VERSION_ID.test(version)) return undefined;
    return { format: 2, version, mac: parts[3]! };
  }
  const colon = token.indexOf(':');
  if (colon < 0) return { format: 1, version: undefined, mac: token };
  const version = token.slice(0, colon);
  return VERSION_ID.test(version) ? { format: 1, version, mac: token.slice(colon + 1) } : undefined;
}
