import { KeyswitchError } from '@keyswitch/core';
import type { KeyVersionsConfig, VersionedKeyConfig } from '../keyring-config.js';
import { KEY_NAME, VERSION_ID } from './names.js';

const VERSIONED_FIELDS = new Set([
  'versions',
  'active',
  'cryptoperiodDays',
  'cryptoperiodEnforcement',
  'warnBeforeDays',
  'description',
]);
const VERSION_FIELDS = new Set(['id', 'provider', 'ref', 'key', 'createdAt', 'cryptoperiodDays']);

/**
 * Checks a key versions section against the keyswitch configuration it sits on.
 *
 * @throws CONFIG_INVALID with the JSON path of the first problem (under `versions.`)
 */
export function validateKeyVersions(
  raw: unknown,
  known: { providers: readonly string[]; keys: readonly string[] },
): KeyVersionsConfig {
  const fail = (path: string, message: string) => new KeyswitchError('CONFIG_INVALID', message, { path });
  if (!isObject(raw)) throw fail('versions', 'expected an object of logical keys by name');
  for (const [name, entry] of Object.entries(raw)) {
    const base = `versions.${name}`;
    if (!KEY_NAME.test(name)) {
      throw fail(
        base,
        'expected a name of letters, digits and ._- (at most 128, starting with a letter or digit)',
      );
    }
    if (!isObject(entry)) throw fail(base, 'expected an object with "versions"');
    unknownField(entry, VERSIONED_FIELDS, base, fail);
    const key = entry as unknown as VersionedKeyConfig;
    if (!Array.isArray(key.versions) || key.versions.length === 0) {
      throw fail(`${base}.versions`, 'expected a non-empty array of versions, oldest first');
    }
    const ids = new Set<string>();
    key.versions.forEach((version, index) => {
      const path = `${base}.versions[${index}]`;
      if (!isObject(version)) throw fail(path, 'expected an object with "id" and "provider"+"ref" or "key"');
      unknownField(version, VERSION_FIELDS, path, fail);
      if (typeof version.id !== 'string' || !VERSION_ID.test(version.id)) {
        throw fail(`${path}.id`, 'expected 1 to 64 letters, digits and ._- starting with a letter or digit');
      }
      if (ids.has(version.id)) throw fail(`${path}.id`, `version "${version.id}" is listed twice`);
      ids.add(version.id);
      if (version.key !== undefined) {
        if (version.provider !== undefined || version.ref !== undefined) {
          throw fail(path, 'give either "key" or "provider" and "ref", not both');
        }
        if (typeof version.key !== 'string' || !known.keys.includes(version.key)) {
          throw fail(
            `${path}.key`,
            `no key named ${JSON.stringify(version.key)} in the keyswitch configuration; configured: ${known.keys.join(', ') || '(none)'}`,
          );
        }
      } else {
        if (typeof version.provider !== 'string' || !known.providers.includes(version.provider)) {
          throw fail(
            `${path}.provider`,
            `expected the name of a configured provider: ${known.providers.join(', ') || '(none)'}`,
          );
        }
        if (typeof version.ref !== 'string' || version.ref.length === 0) {
          throw fail(`${path}.ref`, 'expected the key reference in the provider');
        }
      }
      if (
        version.createdAt !== undefined &&
        (typeof version.createdAt !== 'string' || Number.isNaN(Date.parse(version.createdAt)))
      ) {
        throw fail(`${path}.createdAt`, 'expected an ISO 8601 date such as "2025-01-31"');
      }
      checkDays(version.cryptoperiodDays, `${path}.cryptoperiodDays`, fail);
    });
    if (key.active !== undefined && (typeof key.active !== 'string' || !ids.has(key.active))) {
      throw fail(`${base}.active`, `expected one of the version ids: ${[...ids].join(', ')}`);
    }
    checkDays(key.cryptoperiodDays, `${base}.cryptoperiodDays`, fail);
    if (
      key.warnBeforeDays !== undefined &&
      !(Number.isInteger(key.warnBeforeDays) && key.warnBeforeDays >= 0)
    ) {
      throw fail(`${base}.warnBeforeDays`, 'expected a whole number of days, 0 or more');
    }
    if (
      key.cryptoperiodEnforcement !== undefined &&
      !['error', 'warn'].includes(key.cryptoperiodEnforcement)
    ) {
      throw fail(`${base}.cryptoperiodEnforcement`, 'expected "error" or "warn"');
    }
    if (key.description !== undefined && typeof key.description !== 'string') {
      throw fail(`${base}.description`, 'expected a string');
    }
  }
  return raw as KeyVersionsConfig;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownField(
  value: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  path: string,
  fail: (path: string, message: string) => KeyswitchError,
): void {
  for (const field of Object.keys(value)) {
    if (!allowed.has(field)) {
      throw fail(`${path}.${field}`, `unknown field; expected one of ${[...allowed].join(', ')}`);
    }
  }
}

function checkDays(
  value: unknown,
  path: string,
  fail: (path: string, message: string) => KeyswitchError,
): void {
  if (
    value !== undefined &&
    !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 36_500)
  ) {
    throw fail(path, 'expected a whole number of days from 1 to 36,500');
  }
}
