import { invalidInput, withArticle } from '@keyswitch/core';
import type { GeneralName, RelativeDistinguishedNames } from 'pkijs';
import {
  type CertificateFacts,
  type NameAttributeFact,
  nameAttributes,
  type SubtreeFact,
} from './certificate-facts.js';

const RFC822 = 1;
const DNS = 2;
const DIRECTORY = 4;
const URI = 6;
const IP = 7;
const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';
const COMMON_NAME = '2.5.4.3';

/** A name of a certificate in a form name constraints compare. */
interface Name {
  readonly type: number;
  readonly text?: string;
  readonly bytes?: Uint8Array;
  readonly attributes?: readonly NameAttributeFact[];
}

/**
 * Checks a certificate's names against one certificate's name constraints (RFC 5280 §4.2.1.10, §6.1.3
 * (b)-(c)): the subject as a directory name, its emailAddress attributes as RFC 822 names, each
 * subjectAltName, and — for an end entity with no DNS subjectAltName — a common name that reads as a host
 * name, as OpenSSL does. A name must fall within some permitted subtree of its type (when there is one)
 * and within no excluded subtree. Constraints of a type not implemented here (otherName, x400Address,
 * ediPartyName, registeredID), or with a minimum or maximum, refuse a certificate carrying a name of
 * that type, as the RFC requires of names it cannot check.
 *
 * @throws INVALID_INPUT naming the certificate, the name type and whether it was outside the permitted or
 * inside the excluded subtrees
 */
export function checkNameConstraints(
  facts: CertificateFacts,
  constraints: NonNullable<CertificateFacts['nameConstraints']>,
  endEntity: boolean,
  what: string,
  constrainedBy: string,
): void {
  const names: Name[] = [];
  if (facts.subject.length > 0) names.push({ type: DIRECTORY, attributes: facts.subject });
  for (const attribute of facts.subject) {
    if (attribute.type === EMAIL_ADDRESS) names.push({ type: RFC822, text: attribute.value });
  }
  for (const name of facts.subjectAltNames) names.push(fromGeneralName(name));
  if (endEntity && !facts.subjectAltNames.some((name) => name.type === DNS)) {
    for (const attribute of facts.subject) {
      if (attribute.type === COMMON_NAME && looksLikeHostName(attribute.value)) {
        names.push({ type: DNS, text: attribute.value });
      }
    }
  }
  for (const name of names) {
    const permitted = constraints.permitted.filter((subtree) => subtree.base.type === name.type);
    const excluded = constraints.excluded.filter((subtree) => subtree.base.type === name.type);
    for (const subtree of [...permitted, ...excluded]) {
      if (subtree.hasMinMax || !SUPPORTED.has(subtree.base.type)) {
        throw invalidInput(
          `${what} has ${withArticle(typeName(name.type))} name, and ${constrainedBy} constrains such names in a way this validator does not process`,
        );
      }
    }
    if (permitted.length > 0 && !permitted.some((subtree) => matches(name, subtree))) {
      throw invalidInput(
        `${what} has ${withArticle(typeName(name.type))} name outside the subtrees ${constrainedBy} permits (name constraints)`,
      );
    }
    if (excluded.some((subtree) => matches(name, subtree))) {
      throw invalidInput(
        `${what} has ${withArticle(typeName(name.type))} name inside a subtree ${constrainedBy} excludes (name constraints)`,
      );
    }
  }
}

const SUPPORTED = new Set([RFC822, DNS, DIRECTORY, URI, IP]);

function fromGeneralName(name: GeneralName): Name {
  switch (name.type) {
    case RFC822:
    case DNS:
    case URI:
      return { type: name.type, text: String(name.value) };
    case IP:
      return {
        type: IP,
        bytes: (name.value as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView,
      };
    case DIRECTORY:
      return { type: DIRECTORY, attributes: nameAttributes(name.value as RelativeDistinguishedNames) };
    default:
      return { type: name.type };
  }
}

function matches(name: Name, subtree: SubtreeFact): boolean {
  const base = fromGeneralName(subtree.base);
  switch (name.type) {
    case DNS:
      return dnsWithin(name.text ?? '', base.text ?? '');
    case RFC822:
      return emailWithin(name.text ?? '', base.text ?? '');
    case URI:
      return uriWithin(name.text ?? '', base.text ?? '');
    case IP:
      return ipWithin(name.bytes ?? new Uint8Array(0), base.bytes ?? new Uint8Array(0));
    case DIRECTORY:
      return directoryWithin(name.attributes ?? [], base.attributes ?? []);
    default:
      return false;
  }
}

/** `name` is `base` or a subdomain of it; a base starting with "." admits subdomains only; "" admits all. */
function dnsWithin(name: string, base: string): boolean {
  const host = name.toLowerCase();
  const suffix = base.toLowerCase();
  if (suffix.length === 0) return true;
  if (suffix.startsWith('.')) return host.endsWith(suffix) && host.length > suffix.length;
  return host === suffix || host.endsWith(`.${suffix}`);
}

/** A mailbox base matches exactly; a host base the mailbox's host; a ".domain" base any host under it. */
function emailWithin(mailbox: string, base: string): boolean {
  const at = mailbox.lastIndexOf('@');
  if (at < 0) return false;
  const host = mailbox.slice(at + 1).toLowerCase();
  if (base.includes('@')) {
    const baseAt = base.lastIndexOf('@');
    return mailbox.slice(0, at) === base.slice(0, baseAt) && host === base.slice(baseAt + 1).toLowerCase();
  }
  if (base.startsWith('.')) return host.endsWith(base.toLowerCase());
  return host === base.toLowerCase();
}

/** The URI's host against a host base (exact) or a ".domain" base (any host under it). */
function uriWithin(uri: string, base: string): boolean {
  let host: string;
  try {
    host = new URL(uri).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host.length === 0) return false;
  if (base.startsWith('.')) return host.endsWith(base.toLowerCase());
  return host === base.toLowerCase();
}

/** An address within a base of address and mask of the same family (4 + 4 or 16 + 16 bytes). */
function ipWithin(address: Uint8Array, base: Uint8Array): boolean {
  if (base.length !== address.length * 2) return false;
  for (let index = 0; index < address.length; index += 1) {
    const mask = base[address.length + index]!;
    if ((address[index]! & mask) !== (base[index]! & mask)) return false;
  }
  return true;
}

/** The base's attributes are the first attributes of the name, compared case- and space-insensitively. */
function directoryWithin(name: readonly NameAttributeFact[], base: readonly NameAttributeFact[]): boolean {
  if (base.length > name.length) return false;
  return base.every(
    (attribute, index) =>
      attribute.type === name[index]!.type && normalise(attribute.value) === normalise(name[index]!.value),
  );
}

function normalise(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A common name that reads as a host name: two or more labels of letters, digits, "-" and "_". */
function looksLikeHostName(value: string): boolean {
  return /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)+[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/.test(
    value,
  );
}

function typeName(type: number): string {
  return (
    (
      {
        0: 'otherName',
        1: 'RFC 822',
        2: 'DNS',
        3: 'x400Address',
        4: 'directory',
        5: 'ediPartyName',
        6: 'URI',
        7: 'IP address',
        8: 'registeredID',
      } as Record<number, string>
    )[type] ?? `type ${type}`
  );
}
