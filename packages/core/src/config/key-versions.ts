import { z } from 'zod';
import { validateSection } from './validate-section.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A version id is stored in envelopes and tokens: no `:`, so `v2:…` tokens stay unambiguous. */
const VERSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A date, or a date and time with its zone (a time without one would be read in local time). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

const days = z
  .int({ error: 'expected a whole number of days from 1 to 36,500' })
  .min(1, 'expected a whole number of days from 1 to 36,500')
  .max(36_500, 'expected a whole number of days from 1 to 36,500');

/** An ISO 8601 date, or date and time with its zone. */
const isoDate = z
  .string({ error: 'expected an ISO 8601 date such as "2025-01-31"' })
  .refine((value) => ISO_DATE.test(value) && !Number.isNaN(Date.parse(value)), {
    error: 'expected an ISO 8601 date such as "2025-01-31" (a time needs its zone: "2025-01-31T09:00:00Z")',
  });

const keyVersionSchema = z.strictObject({
  id: z
    .string({
      error: 'expected the version id: 1 to 64 letters, digits and ._- starting with a letter or digit',
    })
    .regex(VERSION_ID, 'expected 1 to 64 letters, digits and ._- starting with a letter or digit'),
  key: z.string({ error: 'expected the name of a key in "keys"' }).optional(),
  provider: z.string({ error: 'expected the name of a provider in "providers"' }).optional(),
  ref: z
    .string({ error: 'expected the key reference in the provider' })
    .min(1, 'expected a non-empty key reference')
    .optional(),
  createdAt: isoDate.optional(),
  cryptoperiodDays: days.optional(),
  /**
   * From this date the version is out of use: it no longer verifies, decrypts or opens envelopes. It stays
   * listed so that its id is never reused. Until then a version that is not active verifies and decrypts.
   */
  disabledFrom: isoDate.optional(),
});

const versionedKeySchema = z
  .strictObject({
    versions: z
      .array(keyVersionSchema, { error: 'expected an array of versions, oldest first' })
      .min(1, 'expected a non-empty array of versions, oldest first'),
    active: z.string({ error: 'expected a version id' }).optional(),
    cryptoperiodDays: days.optional(),
    cryptoperiodEnforcement: z.enum(['error', 'warn'], { error: 'expected "error" or "warn"' }).optional(),
    warnBeforeDays: z
      .int({ error: 'expected a whole number of days, 0 or more' })
      .min(0, 'expected a whole number of days, 0 or more')
      .optional(),
    description: z.string({ error: 'expected a string' }).optional(),
  })
  .superRefine((key, context) => {
    const ids = new Set<string>();
    key.versions.forEach((version, index) => {
      if (ids.has(version.id)) {
        context.addIssue({
          code: 'custom',
          path: ['versions', index, 'id'],
          message: `version "${version.id}" is listed twice; version ids are stored with the data, never reuse one`,
        });
      }
      ids.add(version.id);
      if (version.key !== undefined) {
        if (version.provider !== undefined || version.ref !== undefined) {
          context.addIssue({
            code: 'custom',
            path: ['versions', index],
            message: 'give either "key" or "provider" and "ref", not both',
          });
        }
      } else if (version.provider === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['versions', index, 'provider'],
          message: 'expected "provider" and "ref" (a backend key), or "key" (a key in "keys")',
        });
      } else if (version.ref === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['versions', index, 'ref'],
          message: 'expected the key reference in the provider',
        });
      }
    });
    const active = key.active ?? key.versions.at(-1)?.id;
    key.versions.forEach((version, index) => {
      if (version.id === active && version.disabledFrom !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['versions', index, 'disabledFrom'],
          message: `version "${version.id}" is the active one and cannot be disabled; make another version active first`,
        });
      }
    });
    if (key.active !== undefined && !ids.has(key.active)) {
      context.addIssue({
        code: 'custom',
        path: ['active'],
        message: `no version "${key.active}"; expected one of ${[...ids].join(', ')}`,
      });
    }
  });

/**
 * Zod schema of the `versions` section (logical key name → versions), checked on its own; the names it
 * refers to are checked against the rest of the configuration by `checkKeyVersionReferences`.
 */
export const keyVersionsSchema = z.record(
  z
    .string()
    .regex(NAME, 'expected a name of letters, digits and ._- (at most 128, starting with a letter or digit)'),
  versionedKeySchema,
  {
    error: (issue) =>
      issue.code === 'invalid_type' ? 'expected an object of logical keys by name' : undefined,
  },
);

/** The validated `versions` section: logical key name → its versions. */
export type KeyVersionsConfig = z.output<typeof keyVersionsSchema>;
/** A logical key with versions. */
export type VersionedKeyConfig = KeyVersionsConfig[string];
/** One version of a logical key: a backend key named by `provider` + `ref`, or by a `key` of `keys`. */
export type KeyVersionConfig = VersionedKeyConfig['versions'][number];

/**
 * The id of the version new data uses: `active`, else the last version listed.
 *
 * @example
 * ```ts
 * activeVersionId({ versions: [{ id: '2025', key: 'ds-2025' }, { id: '2026', key: 'ds-2026' }] }); // '2026'
 * ```
 */
export function activeVersionId(config: VersionedKeyConfig): string {
  return config.active ?? config.versions.at(-1)!.id;
}

/**
 * The key in `keys` whose spec, usage and algorithm a `provider` + `ref` version (and a new version made
 * by a rotation) takes: the active version's key, else the first version's that names one; `undefined`
 * when no version names a key.
 *
 * @example
 * ```ts
 * specTemplateKey({ versions: [{ id: 'a', provider: 'hsm', ref: 'pkcs11:object=a' }, { id: 'b', key: 'sig-b' }] }); // 'sig-b'
 * ```
 */
export function specTemplateKey(config: VersionedKeyConfig): string | undefined {
  const activeId = activeVersionId(config);
  return (
    config.versions.find((version) => version.id === activeId)?.key ??
    config.versions.find((version) => version.key !== undefined)?.key
  );
}

/** The provider and key names a `versions` section may refer to. */
export interface KeyVersionNames {
  readonly providers: readonly string[];
  readonly keys: readonly string[];
}

/**
 * Reports each version naming a provider or key that the configuration does not have (the
 * configuration schema's cross-check; not exported from the package).
 *
 * @example
 * ```ts
 * checkKeyVersionReferences(versions, { providers: ['kms'], keys: ['pan-kek'] }, (path, message) => …);
 * ```
 */
export function checkKeyVersionReferences(
  versions: KeyVersionsConfig,
  known: KeyVersionNames,
  report: (path: readonly (string | number)[], message: string) => void,
): void {
  for (const [name, key] of Object.entries(versions)) {
    key.versions.forEach((version, index) => {
      if (version.key !== undefined && !known.keys.includes(version.key)) {
        report(
          ['versions', name, 'versions', index, 'key'],
          `no key named "${version.key}" in "keys"; configured: ${known.keys.join(', ') || '(none)'}`,
        );
      }
      if (
        version.key === undefined &&
        version.provider !== undefined &&
        !known.providers.includes(version.provider)
      ) {
        report(
          ['versions', name, 'versions', index, 'provider'],
          `no provider named "${version.provider}"; expected one of ${known.providers.join(', ') || '(none configured)'}`,
        );
      }
    });
  }
}

/**
 * Validates a `versions` section given apart from a configuration file (as `Keyring.create`'s `versions`
 * option) against the providers and keys of a registry, as the configuration loader does.
 *
 * @throws CONFIG_INVALID whose `path` is the first problem's (`versions.pan-kek.versions[1].provider`)
 * @example
 * ```ts
 * const versions = validateKeyVersions(raw, { providers: ks.providerNames(), keys: ks.keyNames() });
 * ```
 */
export function validateKeyVersions(raw: unknown, known: KeyVersionNames): KeyVersionsConfig {
  return validateSection(raw, 'versions', keyVersionsSchema, (versions, report) =>
    checkKeyVersionReferences(versions, known, report),
  );
}
