import { invalidInput } from '../errors.js';
import { assertBytes } from '../lib/checks.js';
import { decodeBase64Strict, encodeBase64 } from './lib/base64.js';

/** An RFC 7468 label: printable ASCII, no leading/trailing space or hyphen, single inner spaces/hyphens. */
const LABEL = '[\\x21-\\x2c\\x2e-\\x7e](?:[- ]?[\\x21-\\x2c\\x2e-\\x7e])*';
const LABEL_PATTERN = new RegExp(`^${LABEL}$`);
const PEM_PATTERN = new RegExp(`^\\s*-----BEGIN (${LABEL})-----([\\s\\S]*?)-----END (${LABEL})-----\\s*$`);

/**
 * Wraps DER bytes in PEM armour (RFC 7468): base64 in 64-character lines, `\n` line ends, a trailing
 * newline, exactly as node:crypto and OpenSSL write it.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `der` is empty or `label` is not an RFC 7468 label.
 *
 * @example
 * ```ts
 * derToPem(spki, 'PUBLIC KEY');
 * // '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...\n-----END PUBLIC KEY-----\n'
 * ```
 */
export function derToPem(der: Uint8Array, label: string): string {
  assertBytes(der, 'DER input');
  if (der.length === 0) throw invalidInput('DER input is empty');
  if (typeof label !== 'string' || !LABEL_PATTERN.test(label)) throw invalidInput('PEM label is not valid');
  const lines = encodeBase64(der, 'base64').match(/.{1,64}/g)!;
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Reads one PEM block and returns its DER bytes. Whitespace anywhere (CRLF line ends, indentation,
 * unwrapped base64) is tolerated; anything else outside the block, a second block, PEM headers
 * (`Proc-Type:`), or base64 that is not canonical are not.
 *
 * @param expectedLabel - when given, the block's label must be exactly this (`'PUBLIC KEY'`).
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `pem` is not one well-formed PEM block, its BEGIN
 * and END labels differ, its label is not `expectedLabel`, or its body is not valid base64.
 *
 * @example
 * ```ts
 * const spki = pemToDer(readFileSync('acs-signing.pub.pem', 'utf8'), 'PUBLIC KEY');
 * ```
 */
export function pemToDer(pem: string, expectedLabel?: string): Uint8Array {
  if (typeof pem !== 'string') throw invalidInput('PEM input must be a string');
  const match = PEM_PATTERN.exec(pem);
  if (match === null)
    throw invalidInput('PEM input is not one "-----BEGIN …-----" … "-----END …-----" block');
  const [, begin, body, end] = match as unknown as [string, string, string, string];
  if (begin !== end) throw invalidInput(`PEM BEGIN label "${begin}" does not match END label "${end}"`);
  if (expectedLabel !== undefined && begin !== expectedLabel) {
    throw invalidInput(`PEM label is "${begin}", expected "${expectedLabel}"`);
  }
  if (body.includes('-----')) throw invalidInput('PEM input holds more than one block');
  const base64 = body.replace(/\s+/g, '');
  if (base64.length === 0) throw invalidInput('PEM body is empty');
  return decodeBase64Strict(base64, 'base64', 'PEM body');
}
