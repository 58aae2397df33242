import { KeyswitchError } from '../errors.js';
import { joinPath, parseWithSchema, type SafeParser } from './parse-with-schema.js';
import { refuseReservedNames } from './reserved-names.js';

/**
 * Validates one section of a configuration given apart from its file (as `Keyring.create`'s `versions`
 * and `multiKeyrings` options), as the configuration loader does: reserved names, the schema, then the
 * section's cross-check against the registry's names.
 *
 * @throws CONFIG_INVALID whose `path` is the first problem's (`versions.pan-kek.versions[1].provider`)
 * @example
 * ```ts
 * const versions = validateSection(raw, 'versions', keyVersionsSchema, (parsed, report) =>
 *   checkKeyVersionReferences(parsed, known, report),
 * );
 * ```
 */
export function validateSection<T>(
  raw: unknown,
  section: 'versions' | 'multiKeyrings',
  schema: SafeParser<T>,
  checkReferences: (parsed: T, report: (path: readonly (string | number)[], message: string) => void) => void,
): T {
  refuseReservedNames(raw, section);
  const parsed = parseWithSchema(schema, raw, section);
  let first: KeyswitchError | undefined;
  checkReferences(parsed, (path, message) => {
    first ??= new KeyswitchError('CONFIG_INVALID', message, { path: joinPath('', path) });
  });
  if (first) throw first;
  return parsed;
}
