import { KeyswitchError, requireObject } from '@keyswitch/core';

/** The object types an RFC 7512 URI can name. */
export type Pkcs11ObjectType = 'public' | 'private' | 'secret-key' | 'cert' | 'data';

/**
 * An RFC 7512 `pkcs11:` URI, decoded. Text attributes are UTF-8 strings after percent-decoding; `id`
 * (CKA_ID) is bytes. Query attributes other than `pin-value` are kept but not used: the provider's
 * configuration names the module and the PIN.
 */
export interface Pkcs11Uri {
  /** Token label (CK_TOKEN_INFO.label, without its blank padding). */
  readonly token?: string;
  readonly manufacturer?: string;
  readonly serial?: string;
  readonly model?: string;
  readonly libraryManufacturer?: string;
  readonly libraryDescription?: string;
  readonly libraryVersion?: string;
  /** Object label (CKA_LABEL). */
  readonly object?: string;
  readonly type?: Pkcs11ObjectType;
  /** Object id (CKA_ID). */
  readonly id?: Uint8Array;
  readonly slotDescription?: string;
  readonly slotManufacturer?: string;
  readonly slotId?: number;
  /** Vendor-specific path attributes (`x-…`). */
  readonly vendor?: Readonly<Record<string, string>>;
  /** Query attributes (`module-name`, `module-path`, `pin-source`, `x-…`), decoded. */
  readonly query?: Readonly<Record<string, string>>;
}

type TextAttribute = Exclude<keyof Pkcs11Uri, 'type' | 'id' | 'slotId' | 'vendor' | 'query'>;

const TEXT_ATTRIBUTES: Readonly<Record<string, TextAttribute>> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  object: 'object',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
};

const OBJECT_TYPES: readonly Pkcs11ObjectType[] = ['public', 'private', 'secret-key', 'cert', 'data'];
const QUERY_ATTRIBUTES = new Set(['pin-source', 'module-name', 'module-path']);
const SCHEME = /^pkcs11:/i;
const ATTRIBUTE_NAME = /^[a-z][a-z0-9-]*$/;
/** Characters RFC 7512 allows unencoded in path attribute values (pk11-pchar minus pct-encoded). */
const PATH_CHARACTER = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=&]$/;
/** Characters RFC 7512 allows unencoded in query attribute values. */
const QUERY_CHARACTER = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]$/;
/** Characters keyswitch leaves unencoded when it writes a URI: unreserved and a few readable ones. */
const CANONICAL_CHARACTER = /^[A-Za-z0-9\-._~:@!$'()*+,=]$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses an RFC 7512 `pkcs11:` URI. Strict: unknown standard attributes, repeated attributes, bad
 * percent-encoding, invalid UTF-8 in text attributes and an unknown `type` are refused; so is
 * `pin-value`, because a PIN must never be part of a key reference.
 *
 * @throws KeyswitchError INVALID_INPUT naming the problem (never echoing a PIN)
 * @example
 * ```ts
 * const uri = parsePkcs11Uri('pkcs11:token=prod;object=acs-signing;type=private');
 * uri.object; // 'acs-signing'
 * ```
 */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (typeof text !== 'string' || !SCHEME.test(text)) {
    throw invalid(
      'a PKCS#11 key reference must be a pkcs11: URI (RFC 7512), such as pkcs11:object=my-key;type=private',
    );
  }
  const body = text.slice('pkcs11:'.length);
  const queryStart = body.indexOf('?');
  const path = queryStart === -1 ? body : body.slice(0, queryStart);
  const queryText = queryStart === -1 ? undefined : body.slice(queryStart + 1);
  if (body.includes('#')) throw invalid('a pkcs11: URI has no fragment ("#" must be written %23)');

  const result: {
    -readonly [K in keyof Pkcs11Uri]?: Pkcs11Uri[K];
  } = {};
  const seen = new Set<string>();
  const vendor: Record<string, string> = {};
  if (path !== '') {
    for (const part of path.split(';')) {
      const [name, raw] = splitAttribute(part, 'path');
      if (seen.has(name)) throw invalid(`the attribute "${name}" appears twice`);
      seen.add(name);
      const bytes = percentDecode(raw, PATH_CHARACTER, name);
      const textAttribute = TEXT_ATTRIBUTES[name];
      if (textAttribute !== undefined) {
        result[textAttribute] = utf8(bytes, name);
      } else if (name === 'id') {
        result.id = bytes;
      } else if (name === 'type') {
        const type = utf8(bytes, name);
        if (!(OBJECT_TYPES as readonly string[]).includes(type)) {
          throw invalid(`type must be one of ${OBJECT_TYPES.join(', ')}, got "${type}"`);
        }
        result.type = type as Pkcs11ObjectType;
      } else if (name === 'slot-id') {
        const value = utf8(bytes, name);
        if (!/^\d{1,15}$/.test(value)) throw invalid(`slot-id must be a decimal number, got "${value}"`);
        result.slotId = Number(value);
      } else if (name.startsWith('x-')) {
        vendor[name] = utf8(bytes, name);
      } else {
        throw invalid(`unknown path attribute "${name}"`);
      }
    }
  }
  if (Object.keys(vendor).length > 0) result.vendor = vendor;

  if (queryText !== undefined && queryText !== '') {
    const query: Record<string, string> = {};
    for (const part of queryText.split('&')) {
      const [name] = part.split('=', 1) as [string];
      if (name === 'pin-value') {
        throw invalid(
          'pin-value is not allowed: configure the PIN as a secret reference, never in a key reference',
        );
      }
      const [, raw] = splitAttribute(part, 'query');
      if (Object.hasOwn(query, name)) throw invalid(`the query attribute "${name}" appears twice`);
      if (!QUERY_ATTRIBUTES.has(name) && !name.startsWith('x-'))
        throw invalid(`unknown query attribute "${name}"`);
      query[name] = utf8(percentDecode(raw, QUERY_CHARACTER, name), name);
    }
    result.query = query;
  }
  return result;
}

/**
 * Writes a `pkcs11:` URI with path attributes in a fixed order (token, manufacturer, serial, model,
 * object, id, type), percent-encoding everything but unreserved and a few readable characters; `id` is
 * percent-encoded byte by byte. Query attributes are not written.
 *
 * @example
 * ```ts
 * formatPkcs11Uri({ token: 'prod', object: 'acs signing', id: new Uint8Array([1, 2]), type: 'private' });
 * // 'pkcs11:token=prod;object=acs%20signing;id=%01%02;type=private'
 * ```
 */
export function formatPkcs11Uri(uri: Pkcs11Uri): string {
  requireObject(uri, 'the PKCS#11 URI to format');
  const parts: string[] = [];
  const text = (name: string, value: string | undefined) => {
    if (value !== undefined) parts.push(`${name}=${percentEncode(new TextEncoder().encode(value))}`);
  };
  text('token', uri.token);
  text('manufacturer', uri.manufacturer);
  text('serial', uri.serial);
  text('model', uri.model);
  text('library-manufacturer', uri.libraryManufacturer);
  text('library-description', uri.libraryDescription);
  text('library-version', uri.libraryVersion);
  text('slot-description', uri.slotDescription);
  text('slot-manufacturer', uri.slotManufacturer);
  if (uri.slotId !== undefined) parts.push(`slot-id=${uri.slotId}`);
  text('object', uri.object);
  if (uri.id !== undefined) parts.push(`id=${[...uri.id].map(pctByte).join('')}`);
  if (uri.type !== undefined) parts.push(`type=${uri.type}`);
  for (const [name, value] of Object.entries(uri.vendor ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
    text(name, value);
  return `pkcs11:${parts.join(';')}`;
}

function splitAttribute(part: string, where: 'path' | 'query'): [string, string] {
  const equals = part.indexOf('=');
  if (part === '') throw invalid(`an empty ${where} attribute (a stray "${where === 'path' ? ';' : '&'}")`);
  // The attribute's text is not quoted: it may be a PIN written without its name.
  if (equals === 0) throw invalid(`a ${where} attribute has no name before its "="`);
  if (equals < 0) throw invalid(`a ${where} attribute has no "=": each must be written name=value`);
  const name = part.slice(0, equals);
  if (!ATTRIBUTE_NAME.test(name)) throw invalid(`"${name}" is not a valid attribute name`);
  return [name, part.slice(equals + 1)];
}

function percentDecode(raw: string, allowed: RegExp, name: string): Uint8Array {
  const bytes: number[] = [];
  for (let index = 0; index < raw.length; index += 1) {
    const character = raw[index]!;
    if (character === '%') {
      const hex = raw.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw invalid(`bad percent-encoding in "${name}"`);
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else if (allowed.test(character)) {
      bytes.push(character.charCodeAt(0));
    } else {
      throw invalid(`the character ${JSON.stringify(character)} must be percent-encoded in "${name}"`);
    }
  }
  return new Uint8Array(bytes);
}

function percentEncode(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const character = String.fromCharCode(byte);
    out += byte < 0x80 && CANONICAL_CHARACTER.test(character) ? character : pctByte(byte);
  }
  return out;
}

function pctByte(byte: number): string {
  return `%${byte.toString(16).padStart(2, '0').toUpperCase()}`;
}

function utf8(bytes: Uint8Array, name: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalid(`"${name}" is not valid UTF-8 after percent-decoding`);
  }
}

function invalid(detail: string): KeyswitchError {
  return new KeyswitchError('INVALID_INPUT', `invalid pkcs11: URI: ${detail}`);
}
