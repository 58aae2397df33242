import { invalidInput } from '@keyswitch/core';
import {
  Set as Asn1Set,
  type BaseBlock,
  IA5String,
  ObjectIdentifier,
  PrintableString,
  Sequence,
  Utf8String,
} from 'asn1js';
import { RelativeDistinguishedNames } from 'pkijs';

/**
 * The name attributes keyswitch writes, by their usual short names.
 *
 * @example
 * ```ts
 * const attribute: NameAttribute = 'OU';
 * ```
 */
export type NameAttribute = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN' | 'serialNumber' | 'emailAddress' | 'DC';

/**
 * One attribute of a name, in encoding order (most significant first).
 *
 * @example
 * ```ts
 * const subject: NameEntry[] = [{ type: 'C', value: 'US' }, { type: 'CN', value: 'acs.example-bank.com' }];
 * ```
 */
export interface NameEntry {
  readonly type: NameAttribute;
  readonly value: string;
}

/**
 * A subject or issuer name, in one of three forms:
 *
 * - a string, RFC 4514 style, least significant first: `CN=acs.example.com,O=Example Bank,C=US`
 *   (`\,` escapes a comma), or OpenSSL style, most significant first: `/C=US/O=Example Bank/CN=acs.example.com`;
 * - an object: `{ CN: 'acs.example.com', O: 'Example Bank', C: 'US' }`, encoded in the conventional order
 *   C, ST, L, O, OU, CN, serialNumber, emailAddress, DC whatever the property order (arrays repeat an attribute);
 * - entries in encoding order, as {@link readCsr} returns them.
 *
 * @example
 * ```ts
 * const a: DistinguishedName = 'CN=acs.example-bank.com,O=Example Bank,C=US';
 * const b: DistinguishedName = '/C=US/O=Example Bank/CN=acs.example-bank.com';
 * const c: DistinguishedName = { C: 'US', O: 'Example Bank', CN: 'acs.example-bank.com' }; // all three encode alike
 * ```
 */
export type DistinguishedName =
  | string
  | Readonly<Partial<Record<NameAttribute, string | readonly string[]>>>
  | readonly NameEntry[];

const OID: Readonly<Record<NameAttribute, string>> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  serialNumber: '2.5.4.5',
  emailAddress: '1.2.840.113549.1.9.1',
  DC: '0.9.2342.19200300.100.1.25',
};

const ORDER = Object.keys(OID) as NameAttribute[];

const ALIASES: Readonly<Record<string, NameAttribute>> = {
  c: 'C',
  st: 'ST',
  s: 'ST',
  l: 'L',
  o: 'O',
  ou: 'OU',
  cn: 'CN',
  serialnumber: 'serialNumber',
  emailaddress: 'emailAddress',
  email: 'emailAddress',
  dc: 'DC',
};

/** The entries of a name in encoding order, checked. @internal */
export function nameEntries(name: DistinguishedName, what: string): NameEntry[] {
  let entries: NameEntry[];
  if (typeof name === 'string') entries = parseNameString(name, what);
  else if (Array.isArray(name)) entries = (name as readonly NameEntry[]).map((entry) => ({ ...entry }));
  else if (typeof name === 'object' && name !== null) {
    const record = name as Readonly<Record<string, string | readonly string[]>>;
    for (const key of Object.keys(record)) {
      if (!Object.hasOwn(OID, key)) throw invalidInput(`${what}: unknown name attribute "${key}"`);
    }
    entries = ORDER.flatMap((type) => {
      const value = record[type];
      if (value === undefined) return [];
      return (Array.isArray(value) ? value : [value]).map((item: string) => ({ type, value: item }));
    });
  } else {
    throw invalidInput(`${what} must be a string, an object of attributes, or a list of entries`);
  }
  for (const entry of entries) {
    if (!Object.hasOwn(OID, entry.type))
      throw invalidInput(`${what}: unknown name attribute "${String(entry.type)}"`);
    if (typeof entry.value !== 'string' || entry.value.length === 0 || entry.value.length > 256) {
      throw invalidInput(`${what}: ${entry.type} must be a non-empty string of at most 256 characters`);
    }
    if (entry.type === 'C' && !/^[A-Z]{2}$/.test(entry.value)) {
      throw invalidInput(`${what}: C must be a two-letter ISO 3166 country code, got "${entry.value}"`);
    }
    if (entry.type === 'serialNumber' && !/^[A-Za-z0-9 '()+,\-./:=?]+$/.test(entry.value)) {
      throw invalidInput(`${what}: serialNumber must be printable characters`);
    }
    if ((entry.type === 'emailAddress' || entry.type === 'DC') && !/^[\x20-\x7e]+$/.test(entry.value)) {
      throw invalidInput(`${what}: ${entry.type} must be ASCII`);
    }
  }
  return entries;
}

/**
 * The pkijs name of a distinguished name, each attribute its own RDN (one SET per attribute: pkijs on its
 * own would put them all in a single multi-valued RDN).
 * @internal
 */
export function toRelativeDistinguishedNames(
  name: DistinguishedName,
  what: string,
): RelativeDistinguishedNames {
  const der = new Sequence({
    value: nameEntries(name, what).map(
      (entry) =>
        new Asn1Set({
          value: [
            new Sequence({ value: [new ObjectIdentifier({ value: OID[entry.type] }), encodeValue(entry)] }),
          ],
        }),
    ),
  }).toBER(false);
  return RelativeDistinguishedNames.fromBER(der);
}

/** Reads a pkijs name back into entries (attributes keyswitch does not know are named by OID). @internal */
export function fromRelativeDistinguishedNames(names: RelativeDistinguishedNames): NameEntry[] {
  return names.typesAndValues.map((attribute) => {
    const type = (Object.keys(OID) as NameAttribute[]).find((key) => OID[key] === attribute.type);
    const value = (attribute.value as BaseBlock & { valueBlock: { value?: unknown } }).valueBlock.value;
    return { type: (type ?? attribute.type) as NameAttribute, value: typeof value === 'string' ? value : '' };
  });
}

function encodeValue(entry: NameEntry): PrintableString | IA5String | Utf8String {
  switch (entry.type) {
    case 'C':
    case 'serialNumber':
      return new PrintableString({ value: entry.value });
    case 'emailAddress':
    case 'DC':
      return new IA5String({ value: entry.value });
    default:
      return new Utf8String({ value: entry.value });
  }
}

function parseNameString(text: string, what: string): NameEntry[] {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw invalidInput(`${what} is empty`);
  if (trimmed.startsWith('/')) {
    return splitUnescaped(trimmed.slice(1), '/').map((part) => parseAttribute(part, what));
  }
  // RFC 4514 lists the least significant RDN first; certificates encode the most significant first.
  return splitUnescaped(trimmed, ',')
    .map((part) => parseAttribute(part, what))
    .reverse();
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length) {
      current += char + text[index + 1]!;
      index += 1;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function parseAttribute(part: string, what: string): NameEntry {
  const equals = part.indexOf('=');
  if (equals <= 0) throw invalidInput(`${what}: "${part.trim()}" is not ATTRIBUTE=value`);
  const key = part.slice(0, equals).trim();
  const type = ALIASES[key.toLowerCase()];
  if (type === undefined) throw invalidInput(`${what}: unknown name attribute "${key}"`);
  const raw = part.slice(equals + 1).trim();
  if (/(^|[^\\])\+/.test(raw)) throw invalidInput(`${what}: multi-valued RDNs ("+") are not supported`);
  return { type, value: unescapeValue(raw) };
}

function unescapeValue(value: string): string {
  return value.replace(/\\([0-9A-Fa-f]{2}|.)/g, (_, escaped: string) =>
    escaped.length === 2 ? String.fromCharCode(Number.parseInt(escaped, 16)) : escaped,
  );
}
