import { isIP } from 'node:net';
import { invalidInput, withArticle } from '@keyswitch/core';
import { OctetString } from 'asn1js';
import { GeneralName, GeneralNames } from 'pkijs';

/**
 * Subject alternative names: an object of lists, or strings in OpenSSL's form (`DNS:acs.example.com`,
 * `URI:https://acs.example.com/3ds`, `IP:192.0.2.10`, `email:ops@example.com`).
 *
 * @example
 * ```ts
 * const a: SubjectAltNames = { dns: ['acs.example-bank.com'], uri: ['https://acs.example-bank.com/3ds'] };
 * const b: SubjectAltNames = ['DNS:acs.example-bank.com', 'IP:192.0.2.10'];
 * ```
 */
export type SubjectAltNames =
  | {
      readonly dns?: readonly string[];
      readonly uri?: readonly string[];
      readonly ip?: readonly string[];
      readonly email?: readonly string[];
    }
  | readonly string[];

const RFC822_NAME = 1;
const DNS_NAME = 2;
const URI = 6;
const IP_ADDRESS = 7;

/** The GeneralNames of the SANs, checked; `undefined` when there are none. @internal */
export function toGeneralNames(sans: SubjectAltNames | undefined): GeneralNames | undefined {
  if (sans === undefined) return undefined;
  const names: GeneralName[] = [];
  for (const [kind, value] of sanEntries(sans)) {
    if (typeof value !== 'string' || value.length === 0)
      throw invalidInput(`${withArticle(kind)} SAN must be a non-empty string`);
    switch (kind) {
      case 'dns':
        if (
          !/^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(
            value,
          )
        ) {
          throw invalidInput(`"${value}" is not a DNS name`);
        }
        names.push(new GeneralName({ type: DNS_NAME, value }));
        break;
      case 'uri':
        if (!URL.canParse(value) || !/^[\x21-\x7e]+$/.test(value))
          throw invalidInput(`"${value}" is not an absolute ASCII URI`);
        names.push(new GeneralName({ type: URI, value }));
        break;
      case 'email':
        if (!/^[\x21-\x7e]+@[A-Za-z0-9.-]+$/.test(value))
          throw invalidInput(`"${value}" is not an email address`);
        names.push(new GeneralName({ type: RFC822_NAME, value }));
        break;
      case 'ip':
        names.push(
          new GeneralName({ type: IP_ADDRESS, value: new OctetString({ valueHex: ipBytes(value) }) }),
        );
        break;
    }
  }
  return names.length === 0 ? undefined : new GeneralNames({ names });
}

/** Reads GeneralNames back into OpenSSL-style strings (`DNS:…`, `URI:…`, `IP:…`, `email:…`). @internal */
export function fromGeneralNames(names: GeneralNames): string[] {
  return names.names.flatMap((name) => {
    if (name.type === DNS_NAME) return [`DNS:${String(name.value)}`];
    if (name.type === URI) return [`URI:${String(name.value)}`];
    if (name.type === RFC822_NAME) return [`email:${String(name.value)}`];
    if (name.type === IP_ADDRESS)
      return [`IP:${ipText((name.value as OctetString).valueBlock.valueHexView)}`];
    return [];
  });
}

function sanEntries(sans: SubjectAltNames): ['dns' | 'uri' | 'ip' | 'email', string][] {
  if (Array.isArray(sans)) {
    return (sans as readonly string[]).map((entry) => {
      const match = typeof entry === 'string' ? /^(DNS|URI|IP|email):(.*)$/i.exec(entry) : null;
      if (match === null)
        throw invalidInput(`SAN ${JSON.stringify(entry)} must look like DNS:…, URI:…, IP:… or email:…`);
      return [match[1]!.toLowerCase() as 'dns' | 'uri' | 'ip' | 'email', match[2]!];
    });
  }
  if (typeof sans !== 'object' || sans === null)
    throw invalidInput('sans must be an object of lists or a list of strings');
  const record = sans as Readonly<Record<string, readonly string[] | undefined>>;
  for (const key of Object.keys(record)) {
    if (!['dns', 'uri', 'ip', 'email'].includes(key))
      throw invalidInput(`unknown SAN kind "${key}"; use dns, uri, ip, email`);
    if (!Array.isArray(record[key])) throw invalidInput(`sans.${key} must be a list of strings`);
  }
  return (['dns', 'uri', 'ip', 'email'] as const).flatMap((kind) =>
    (record[kind] ?? []).map((value) => [kind, value] as ['dns' | 'uri' | 'ip' | 'email', string]),
  );
}

function ipBytes(text: string): Uint8Array {
  const version = isIP(text);
  if (version === 4) return new Uint8Array(text.split('.').map(Number));
  if (version !== 6) throw invalidInput(`"${text}" is not an IP address`);
  const words = (part: string | undefined): number[] =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = words(head);
  const right = words(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  for (const [index, word] of all.entries()) {
    out[index * 2] = word >> 8;
    out[index * 2 + 1] = word & 0xff;
  }
  return out;
}

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const words: string[] = [];
  for (let index = 0; index < bytes.length; index += 2)
    words.push(((bytes[index]! << 8) | bytes[index + 1]!).toString(16));
  return words.join(':');
}
