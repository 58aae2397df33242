import { z } from 'zod';
import { validateSection } from './validate-section.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A wrapping key's name is stored in every envelope, as a version id is. */
const STORED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** An envelope holds at most this many wrapped copies of its data key. */
const MAX_WRAPPING_KEYS = 8;

const keyNames = (what: string) =>
  z.array(z.string({ error: 'expected the name of a key in "keys"' }), {
    error: `expected an array of ${what}`,
  });

const multiKeyringSchema = z.strictObject({
  keys: keyNames('configured key names, the first making each data key')
    .min(1, 'expected a non-empty array of configured key names')
    .max(MAX_WRAPPING_KEYS, `expected at most ${MAX_WRAPPING_KEYS} keys: an envelope holds 8 wrapped copies`),
  retired: keyNames('configured key names that still open old envelopes').optional(),
  timeoutMs: z
    .int({ error: 'expected a whole number of milliseconds, 1 to 600,000' })
    .min(1, 'expected a whole number of milliseconds, 1 to 600,000')
    .max(600_000, 'expected a whole number of milliseconds, 1 to 600,000')
    .optional(),
});

/**
 * Zod schema of the `multiKeyrings` section: logical envelope keys whose data keys several configured keys
 * wrap, on different backends, so that losing one backend loses no data (see `@keyswitch/envelope`).
 *
 * @example
 * ```ts
 * multiKeyringsSchema.parse({ 'card-data': { keys: ['pan-kek-kms', 'pan-kek-hsm'], timeoutMs: 2000 } });
 * ```
 */
export const multiKeyringsSchema = z.record(
  z.string().regex(NAME, 'expected a name of letters, digits and ._- (at most 128)'),
  multiKeyringSchema,
  { error: 'expected an object of multi-keyrings by logical key name' },
);

/** A validated `multiKeyrings` section. */
export type MultiKeyringsConfig = z.output<typeof multiKeyringsSchema>;

/** What a `multiKeyrings` section is checked against: the configured keys, and the names with versions. */
export interface MultiKeyringNames {
  readonly keys: readonly string[];
  readonly versionedKeys: readonly string[];
}

/**
 * Checks that a `multiKeyrings` section names configured keys (each at most 64 characters: it is stored
 * in envelopes), none twice, and no logical key that also has versions. Reports each problem with its path.
 *
 * @example
 * ```ts
 * checkMultiKeyringReferences(section, { keys: ['a', 'b'], versionedKeys: [] }, (path, message) => issues.push({ path, message }));
 * ```
 */
export function checkMultiKeyringReferences(
  section: MultiKeyringsConfig,
  known: MultiKeyringNames,
  report: (path: readonly (string | number)[], message: string) => void,
): void {
  for (const [name, multi] of Object.entries(section)) {
    const at = ['multiKeyrings', name];
    if (known.versionedKeys.includes(name)) {
      report(at, 'this key already has versions; a key is one or the other');
    }
    const seen = new Set<string>();
    for (const field of ['keys', 'retired'] as const) {
      (multi[field] ?? []).forEach((key, index) => {
        if (!known.keys.includes(key)) {
          report(
            [...at, field, index],
            `not a key of the keyswitch configuration; configured: ${known.keys.join(', ') || '(none)'}`,
          );
        } else if (!STORED_NAME.test(key)) {
          report([...at, field, index], 'a multi-keyring key name must be at most 64 characters');
        }
        if (seen.has(key)) report(at, `key "${key}" is listed twice`);
        seen.add(key);
      });
    }
  }
}

/**
 * Validates a `multiKeyrings` section given apart from a configuration file (as `Keyring.create`'s
 * `multiKeyrings` option), as the configuration loader does.
 *
 * @throws CONFIG_INVALID whose `path` is the first problem's (`multiKeyrings.card-data.keys[0]`)
 * @example
 * ```ts
 * const multi = validateMultiKeyrings(raw, { keys: ks.keyNames(), versionedKeys: Object.keys(ks.keyVersions()) });
 * ```
 */
export function validateMultiKeyrings(raw: unknown, known: MultiKeyringNames): MultiKeyringsConfig {
  return validateSection(raw, 'multiKeyrings', multiKeyringsSchema, (section, report) =>
    checkMultiKeyringReferences(section, known, report),
  );
}
